"""GET /gaps is built once per state of the log, the store and the day, not on every call."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
import numpy as np
import pytest

from api.app import create_app
from ingest.pipeline import ingest
from rag.config import Settings
from rag.engine import QueryEngine
from rag.gaps_cache import ReportCache
from rag.topics import cluster
from tests.api.serving import running
from tests.ingest.helpers import write


@pytest.fixture
def engine(tmp_path: Path) -> QueryEngine:
    corpus = tmp_path / "corpus"
    write(corpus, "wiki/oncall.md", "---\ntitle: On-call\nauthors: [Ann Lee]\n---\n# On-call\n\n"
                                    "The primary acknowledges a page within fifteen minutes.\n")
    settings = Settings(embedder="hashing", data_dir=tmp_path / "data", rate_limit_burst=10_000)
    assert ingest(corpus, settings).failed == []
    # A ledger connection the ingest left to the garbage collector checkpoints the ledger when it is closed,
    # which changes its mtime (part of the key): close it now, not in the middle of the test.
    gc.collect()
    return QueryEngine(settings)


def test_the_report_is_rebuilt_only_when_what_it_reads_changes(engine: QueryEngine, tmp_path: Path) -> None:
    cache = ReportCache()
    assert engine.query_log is not None
    first = engine.ask("How fast is a page acknowledged?")
    engine.ask("What is the parental leave policy?")
    a = cache.report(engine)
    assert cache.report(engine) is a and cache.builds == 1 and a.questions == 2
    engine.ask("Who approves conference budgets?")  # a new question
    b = cache.report(engine)
    assert cache.builds == 2 and b.questions == 3
    assert first.question_id is not None
    engine.query_log.add_feedback(first.question_id, helpful=False)  # new feedback
    c = cache.report(engine)
    assert cache.builds == 3 and c is not b
    assert cache.report(engine, groups=("staff",)) is not c and cache.builds == 4  # another caller's view
    assert cache.report(engine, since_days=7) is not c and cache.builds == 5  # another window
    assert cache.report(engine) is c and cache.builds == 5
    write(tmp_path / "corpus", "wiki/leave.md", "# Leave\n\nParental leave is sixteen weeks, fully paid.\n")
    assert ingest(tmp_path / "corpus", engine.settings).failed == []  # the store changed
    gc.collect()
    cache.report(engine)
    assert cache.builds == 6
    engine.query_log.purge(older_than_days=0)  # everything asked before now
    assert cache.report(engine).questions == 0 and cache.builds == 7


def test_gaps_over_http_is_served_from_the_cache_until_a_question_is_asked(engine: QueryEngine) -> None:
    app = create_app(engine.settings, engine=engine)
    with running(app) as url:
        httpx.post(f"{url}/ask", json={"question": "How fast is a page acknowledged?"}, timeout=30)
        one = httpx.get(f"{url}/gaps", timeout=60).json()
        two = httpx.get(f"{url}/gaps", timeout=60).json()
        assert one == two and app.state.gap_reports.builds == 1
        httpx.post(f"{url}/ask", json={"question": "Who approves conference budgets?"}, timeout=30)
        three = httpx.get(f"{url}/gaps", timeout=60).json()
    assert three["questions"] == 2 and app.state.gap_reports.builds == 2


def test_a_question_with_nothing_to_embed_does_not_fail_the_report(engine: QueryEngine) -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 0.0], [0.99, 0.01], [0.0, 0.0]])
    assert cluster(vectors, distance=0.6) == [[0, 2], [1], [3]]
    engine.ask("¿¿ … ??")  # the hashing embedder has no word of it: a zero vector
    engine.ask("How fast is a page acknowledged?")
    assert ReportCache().report(engine).questions == 2


@pytest.mark.integration
def test_on_postgres_a_change_that_keeps_the_chunk_count_rebuilds_the_report(postgres_server, tmp_path: Path) -> None:
    # The ledger lives in the database, so no local file changes; a page replaced by one of the same size
    # leaves the chunk count as it was. The key must still move (it holds the collection's write revision).
    corpus = tmp_path / "corpus"
    write(corpus, "wiki/oncall.md", "# On-call\n\nThe primary acknowledges a page within fifteen minutes.\n")
    settings = postgres_server.settings(tmp_path / "data", embedder="hashing", rate_limit_burst=10_000)
    assert ingest(corpus, settings).failed == []
    engine = QueryEngine(settings)
    cache = ReportCache()
    engine.ask("How fast is a page acknowledged?")
    first = cache.report(engine)
    assert cache.report(engine) is first and cache.builds == 1
    count, state = engine.store.count(), engine.store_state()
    write(corpus, "wiki/oncall.md", "# On-call\n\nThe primary acknowledges a page within five minutes.\n")
    assert ingest(corpus, settings).replaced == 1
    assert engine.store.count() == count and engine.store_state() != state
    cache.report(engine)
    assert cache.builds == 2
    assert "five minutes" in engine.search("How fast is a page acknowledged?")[0].chunk.text

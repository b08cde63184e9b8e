"""The query log: what is recorded, switched off, purged by age, and never in the way of an answer."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import QueryEngine
from rag.errors import BadInput, NotFound
from rag.gaps import build_report
from rag.querylog import QueryLog
from rag.types import Answer, Citation, Expert
from tests.gaps.conftest import NOW


def _answer(qid: str, question: str = "How do I deploy?", *, abstained: bool = False) -> Answer:
    cite = Citation(n=1, doc_id="d1", title="Deploy process", kind="wiki", source="wiki/deploy.md",
                    quote="Deploys go out through ArgoCD.", authors=("Tomasz Wilk",), date="2025-04-02")
    return Answer(question=question, answer="..." if not abstained else "no", abstained=abstained,
                  confidence=0.2 if abstained else 0.9, citations=() if abstained else (cite,),
                  experts=(Expert(name="Tomasz Wilk", score=1.0),), latency_ms=12.5, question_id=qid)


@pytest.mark.slow
def test_ask_records_question_asker_citations_and_experts(gap_engine: QueryEngine) -> None:
    answer = gap_engine.ask("Why does Ledgerline round VAT on each invoice line?", asker="Ben Carter")
    assert gap_engine.query_log is not None
    [logged] = gap_engine.query_log.questions()
    assert logged.question_id == answer.question_id and logged.asker == "Ben Carter"
    assert logged.question == answer.question and logged.abstained is False
    assert logged.confidence == answer.confidence and logged.latency_ms == answer.latency_ms
    assert [c.doc_id for c in logged.citations] == [c.doc_id for c in answer.citations]
    assert logged.citations[0].source == "wiki/ledgerline-overview.md"
    assert logged.citations[0].authors == ("Jonas Berg",)
    assert logged.experts == tuple(e.name for e in answer.experts)
    assert gap_engine.settings.query_log_file.exists()


@pytest.mark.slow
def test_logging_off_writes_nothing(gap_settings: Settings) -> None:
    off = gap_settings.model_copy(update={"query_log": "off"})
    engine = QueryEngine(off)
    answer = engine.ask("How do I deploy a service to production?", asker="Ben Carter")
    assert answer.citations, "answering works with the log off"
    assert engine.query_log is None
    assert not off.query_log_file.exists()
    assert not list(off.query_log_file.parent.glob("queries.sqlite*"))
    report = build_report(engine)
    assert report.log_enabled is False and report.questions == 0


@pytest.mark.slow
def test_a_broken_log_never_breaks_answering(gap_settings: Settings, tmp_path: Path) -> None:
    # A directory where the database file should be: SQLite cannot open it.
    broken = tmp_path / "not-a-file.sqlite"
    broken.mkdir()
    engine = QueryEngine(gap_settings.model_copy(update={"query_log_path": broken}))
    answer = engine.ask("How do I deploy a service to production?")
    assert not answer.abstained and answer.citations and answer.question_id


def test_purge_by_age_removes_old_questions_and_their_feedback(tmp_path: Path) -> None:
    log = QueryLog(tmp_path / "q.sqlite")
    for qid, days in (("old1", 200), ("old2", 95), ("new1", 10), ("new2", 0)):
        log.record(_answer(qid), asker="Ann", asked_at=NOW - timedelta(days=days))
    log.add_feedback("old1", helpful=False, comment="outdated", at=NOW - timedelta(days=199))
    log.add_feedback("new1", helpful=True, at=NOW - timedelta(days=9))

    result = log.purge(older_than_days=90, now=NOW)

    assert (result.questions, result.feedback) == (2, 1)
    assert [q.question_id for q in log.questions()] == ["new1", "new2"]
    assert set(log.feedback()) == {"new1"}
    with sqlite3.connect(log.path) as db:
        assert db.execute("SELECT COUNT(*) FROM citations").fetchone()[0] == 2
    assert log.purge(older_than_days=90, now=NOW).questions == 0
    with pytest.raises(BadInput):
        log.purge(older_than_days=-1)


def test_feedback_needs_a_logged_question(tmp_path: Path) -> None:
    log = QueryLog(tmp_path / "q.sqlite")
    log.record(_answer("q1"), asked_at=NOW)
    with pytest.raises(NotFound, match="nope"):
        log.add_feedback("nope", helpful=True)
    with pytest.raises(BadInput) as exc:
        log.add_feedback("q1", helpful=False, comment="x" * 5000)
    assert exc.value.field == "comment"
    fb = log.add_feedback("q1", helpful=False, comment="wrong page")
    log.add_feedback("q1", helpful=True, at=fb.at + timedelta(minutes=1))
    assert log.feedback()["q1"].helpful is True, "the latest feedback wins"


def test_since_window_filters_questions(tmp_path: Path) -> None:
    log = QueryLog(tmp_path / "q.sqlite")
    log.record(_answer("a"), asked_at=NOW - timedelta(days=40))
    log.record(_answer("b"), asked_at=NOW - timedelta(days=3))
    assert [q.question_id for q in log.questions(since=NOW - timedelta(days=7))] == ["b"]
    assert len(log.questions()) == 2

"""Scale-out on one PostgreSQL: two API processes share chunks, BM25, query log and feedback; two ingests of one
collection at once neither duplicate nor lose anything. Real processes, real PostgreSQL, loopback only."""

from __future__ import annotations

import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from eval.procs import free_port, server_process
from ingest.manifest import open_manifest
from rag.config import Settings
from rag.querylog import QueryLog
from tests.api.test_ingest_while_serving import pages
from tests.ingest.helpers import REPO, WHOKNOWS, cli_env, run_cli
from tests.stores.pgserver import PostgresServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _ingest(root: Path, data: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(WHOKNOWS), "ingest", str(root), "--data-dir", str(data), "--json"], env=env,
                            cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _chunk_rows(settings: Settings) -> tuple[int, int, int]:
    """(rows, distinct (document, index) pairs, chunks the ledger says are stored)."""
    from rag.stores.pg import Database

    db = Database(settings)
    rows, pairs = db.one("SELECT count(*), count(DISTINCT (doc_id, idx)) FROM chunks") or (0, 0)
    ledger = open_manifest(settings)
    done = sum(len(d.chunk_ids) for d in ledger.all_docs() if d.state == "done")
    ledger.close()
    db.close()
    return int(rows), int(pairs), done


def test_two_concurrent_ingests_duplicate_and_lose_nothing(postgres_server: PostgresServer, tmp_path: Path) -> None:
    settings = postgres_server.settings(tmp_path / "data", embedder="hashing")
    env = cli_env(**postgres_server.env(settings))
    one, two = tmp_path / "one", tmp_path / "two"
    pages(one, 0, 12, "the billing cluster")
    pages(two, 100, 8, "the zanzibar migration")
    # Two hosts ingesting the same folder at once, and a third ingesting another corpus into the same collection.
    procs = [_ingest(one, tmp_path / "host-a", env), _ingest(one, tmp_path / "host-b", env),
             _ingest(two, tmp_path / "host-c", env)]
    errors = [p.communicate(timeout=300)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors

    rows, pairs, done = _chunk_rows(settings)
    assert rows == pairs == done == 20 * 10  # 20 pages of 10 sections: each chunk once
    # Any host re-ingests incrementally from the shared ledger: nothing to embed again.
    again = run_cli("ingest", str(one), "--data-dir", str(tmp_path / "host-d"), "--json", env=env)
    assert again.returncode == 0 and '"embedded": 0' in again.stdout, again.stdout + again.stderr
    assert _chunk_rows(settings)[0] == 200


def test_two_api_processes_share_one_database(postgres_server: PostgresServer, tmp_path: Path) -> None:
    settings = postgres_server.settings(tmp_path / "data", embedder="hashing")
    env = cli_env(**postgres_server.env(settings))
    corpus = tmp_path / "corpus"
    pages(corpus, 0, 10, "the billing cluster")
    assert run_cli("ingest", str(corpus), "--data-dir", str(tmp_path / "ingest-host"), env=env).returncode == 0

    with ExitStack() as stack:
        urls = []
        for name in ("api-a", "api-b"):  # each with its own empty data dir: all state is in the database
            port = free_port()
            argv = [str(WHOKNOWS), "serve", "--port", str(port), "--data-dir", str(tmp_path / name)]
            stack.enter_context(server_process(argv, ready_url=f"http://127.0.0.1:{port}/health",
                                               log=tmp_path / f"{name}.log", env=env, wait_s=120))
            urls.append(f"http://127.0.0.1:{port}")
        questions = [f"Which queue does page {i % 10} drain first?" for i in range(32)]

        def ask(i: int) -> tuple[int, str]:
            r = httpx.post(f"{urls[i % 2]}/ask", json={"question": questions[i]}, timeout=60)
            return r.status_code, r.json().get("question_id", "")

        with ThreadPoolExecutor(max_workers=8) as pool:  # bounded: 32 questions, 8 at a time
            answers = list(pool.map(ask, range(len(questions))))
        assert Counter(status for status, _ in answers) == Counter({200: len(questions)})
        # Feedback on an answer from process A, sent to process B: one shared log.
        first_a = answers[0][1]
        fb = httpx.post(f"{urls[1]}/feedback", json={"question_id": first_a, "helpful": True}, timeout=30)
        assert fb.status_code == 201, fb.text

        # New content ingested by a third host is served by both processes without a restart.
        pages(corpus, 50, 2, "the kraken rollout")
        assert run_cli("ingest", str(corpus), "--data-dir", str(tmp_path / "ingest-host"), env=env).returncode == 0
        for url in urls:
            hits = httpx.get(f"{url}/search", params={"q": "kraken rollout 50", "k": 3}, timeout=30).json()
            assert hits and "kraken" in hits[0]["text"]
            assert httpx.get(f"{url}/health", timeout=10).json()["chunks"] == 120

    log = QueryLog.from_settings(settings)
    assert log is not None
    logged = [q.question_id for q in log.questions()]
    assert sorted(logged) == sorted(qid for _, qid in answers) and len(set(logged)) == len(questions)
    assert log.feedback()[first_a].helpful is True

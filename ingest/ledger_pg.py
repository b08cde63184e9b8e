"""The ingest ledger in PostgreSQL (``store='postgres'``): the tables of :mod:`ingest.manifest`, shared by every
ingest host, so any of them re-ingests incrementally.

Every method is one transaction. Two ingests of one collection never interleave: :func:`ingest_lock` holds a
session advisory lock for the whole run (the second waits, then finds the first's work in the ledger and
skips it), and the server drops the lock if an ingest process dies.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg.types.json import Jsonb

from ingest.ids import root_id
from ingest.manifest import DocRecord, Manifest
from rag.config import Settings
from rag.stores.pg import Database, quote_ident
from rag.stores.pg_schema import applied_version


@contextmanager
def ingest_lock(settings: Settings) -> Iterator[None]:
    """One ingest at a time per collection, across hosts."""
    db = Database(settings)
    with db.advisory_lock("ingest"):
        yield


def _list(value: object) -> list[str]:
    return list(value) if isinstance(value, list) else json.loads(str(value))


class PgManifest(Manifest):
    """The ledger of one collection in its Postgres schema (same methods as the SQLite ledger)."""

    def __init__(self, settings: Settings) -> None:  # noqa: D107 - the SQLite file is not opened
        self.db = Database(settings)
        self._s = quote_ident(self.db.schema)
        self._exists = applied_version(self.db) > 0

    def close(self) -> None:
        """Close the connections."""
        self.db.close()

    def root_id(self, root: str) -> str:
        """The id of corpus ``root``: the one recorded with its first document, else the one it will get."""
        if applied_version(self.db) < 2:
            return root_id(root)
        row = self.db.one(f"SELECT root_id FROM {self._s}.ledger_roots WHERE root = %s", (root,))
        return str(row[0]) if row else root_id(root)

    def roots(self) -> dict[str, str]:
        """Every corpus root with documents in the ledger -> its id."""
        if applied_version(self.db) < 2:
            return {}
        rows = self.db.rows(f"SELECT root FROM {self._s}.ledger_docs UNION SELECT root FROM {self._s}.ledger_roots",
                            action="read the ledger")
        return {r: self.root_id(r) for (r,) in rows}

    def forget_root(self, root: str) -> None:
        """Drop everything recorded for corpus ``root`` (after its chunks left the store)."""
        if applied_version(self.db) < 2:
            return
        with self.db.transaction("write the ledger") as conn:
            for table in ("ledger_docs", "ledger_units", "ledger_roots"):
                conn.execute(f"DELETE FROM {self._s}.{table} WHERE root = %s", (root,))

    def docs(self, root: str) -> dict[str, DocRecord]:
        """Every document recorded for a corpus root, by doc id."""
        if not self._exists:
            self._exists = applied_version(self.db) > 0
            if not self._exists:
                return {}
        rows = self.db.rows(f"SELECT doc_id, unit, source, paths, version, dup_key, state, chunk_ids, kind, title "
                            f"FROM {self._s}.ledger_docs WHERE root = %s", (root,), action="read the ledger")
        return {r[0]: DocRecord(r[0], r[1], r[2], _list(r[3]), r[4], r[5], r[6], _list(r[7]), r[8] or "",
                                r[9] or "") for r in rows}

    def all_docs(self) -> list[DocRecord]:
        """Every document in the collection, whatever its root."""
        roots = self.db.rows(f"SELECT DISTINCT root FROM {self._s}.ledger_docs", action="read the ledger")
        return [d for (root,) in roots for d in self.docs(root).values()]

    def units(self, root: str) -> dict[str, tuple[str, list[str]]]:
        """unit -> (signature, sources it produced) for a corpus root."""
        if not self._exists and applied_version(self.db) == 0:
            return {}
        rows = self.db.rows(f"SELECT unit, sig, sources FROM {self._s}.ledger_units WHERE root = %s", (root,),
                            action="read the ledger")
        return {u: (s, _list(src)) for u, s, src in rows}

    def mark_pending(self, root: str, recs: list[DocRecord]) -> None:
        """Record documents about to be written (one transaction); the root's id is recorded with its first."""
        sql = (f"INSERT INTO {self._s}.ledger_docs VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
               "ON CONFLICT (doc_id) DO UPDATE SET root = EXCLUDED.root, unit = EXCLUDED.unit, "
               "source = EXCLUDED.source, paths = EXCLUDED.paths, version = EXCLUDED.version, "
               "dup_key = EXCLUDED.dup_key, state = EXCLUDED.state, chunk_ids = EXCLUDED.chunk_ids, "
               "kind = EXCLUDED.kind, title = EXCLUDED.title, updated = EXCLUDED.updated")
        now = time.time()
        with self.db.transaction("write the ledger") as conn, conn.cursor() as cur:
            cur.execute(f"INSERT INTO {self._s}.ledger_roots VALUES (%s, %s, %s) ON CONFLICT (root) DO NOTHING",
                        (root, self.root_id(root), now))
            cur.executemany(sql, [(r.doc_id, root, r.unit, r.source, Jsonb(r.paths), r.version, r.dup_key, "pending",
                                   Jsonb(r.chunk_ids), r.kind, r.title, now) for r in recs])

    def _set_state(self, doc_ids: list[str], state: str) -> None:
        with self.db.transaction("write the ledger") as conn:
            conn.execute(f"UPDATE {self._s}.ledger_docs SET state = %s, updated = %s WHERE doc_id = ANY(%s)",
                         (state, time.time(), doc_ids))

    def mark_done(self, doc_ids: list[str]) -> None:
        """Documents whose chunks are all in the store."""
        self._set_state(doc_ids, "done")

    def mark_pending_again(self, doc_ids: list[str]) -> None:
        """Documents to write again (their chunks are missing from the store)."""
        self._set_state(doc_ids, "pending")

    def forget(self, doc_ids: list[str]) -> None:
        """Drop documents (after their chunks left the store)."""
        with self.db.transaction("write the ledger") as conn:
            conn.execute(f"DELETE FROM {self._s}.ledger_docs WHERE doc_id = ANY(%s)", (doc_ids,))

    def set_units(self, root: str, units: dict[str, tuple[str, list[str]]], *, drop_others: bool) -> None:
        """Remember each unit's signature once everything from it landed."""
        if not self._exists and applied_version(self.db) == 0:
            return  # nothing was ever stored: no collection to remember units in (the next run reads them again)
        with self.db.transaction("write the ledger") as conn, conn.cursor() as cur:
            if drop_others:
                cur.execute(f"DELETE FROM {self._s}.ledger_units WHERE root = %s", (root,))
            cur.executemany(f"INSERT INTO {self._s}.ledger_units VALUES (%s, %s, %s, %s) ON CONFLICT (root, unit) "
                            "DO UPDATE SET sig = EXCLUDED.sig, sources = EXCLUDED.sources",
                            [(u, root, sig, Jsonb(src)) for u, (sig, src) in units.items()])

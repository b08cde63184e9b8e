"""What has been ingested: a SQLite ledger next to the vector store.

A document is written as ``pending`` *before* its chunks reach the store and marked ``done`` after,
so a run killed in between is finished by the next run instead of leaving half a document. Everything is kept
per corpus root (its absolute path): the documents and units each root produced, and the root's id, which is
part of every document id (:mod:`ingest.ids`), so ingesting one root never touches another's documents.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.ids import root_id
from rag.config import Settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs(
  doc_id TEXT PRIMARY KEY, root TEXT NOT NULL, unit TEXT NOT NULL, source TEXT NOT NULL,
  paths TEXT NOT NULL, version TEXT NOT NULL, dup_key TEXT NOT NULL, state TEXT NOT NULL,
  chunk_ids TEXT NOT NULL DEFAULT '[]', kind TEXT, title TEXT, updated REAL);
CREATE TABLE IF NOT EXISTS units(
  unit TEXT NOT NULL, root TEXT NOT NULL, sig TEXT NOT NULL, sources TEXT NOT NULL,
  PRIMARY KEY(root, unit));
CREATE TABLE IF NOT EXISTS roots(root TEXT PRIMARY KEY, root_id TEXT NOT NULL, since REAL NOT NULL);
"""


@dataclass
class DocRecord:
    doc_id: str
    unit: str
    source: str
    paths: list[str]
    version: str
    dup_key: str
    state: str
    chunk_ids: list[str]
    kind: str
    title: str


class Manifest:
    """The ingest ledger for one data dir."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def root_id(self, root: str) -> str:
        """The id of corpus ``root``: the one recorded with its first document, else the one it will get."""
        row = self._db.execute("SELECT root_id FROM roots WHERE root=?", (root,)).fetchone()
        return str(row[0]) if row else root_id(root)

    def roots(self) -> dict[str, str]:
        """Every corpus root with documents in the ledger -> its id (roots of stores written before root ids
        were recorded have the id they will get)."""
        rows = self._db.execute("SELECT root FROM docs UNION SELECT root FROM roots").fetchall()
        return {r: self.root_id(r) for (r,) in rows}

    def forget_root(self, root: str) -> None:
        """Drop everything recorded for corpus ``root`` (after its chunks left the store)."""
        with self._db:
            for table in ("docs", "units", "roots"):
                self._db.execute(f"DELETE FROM {table} WHERE root=?", (root,))

    def docs(self, root: str) -> dict[str, DocRecord]:
        """Every document recorded for a corpus root, by doc id."""
        rows = self._db.execute(
            "SELECT doc_id, unit, source, paths, version, dup_key, state, chunk_ids, kind, title "
            "FROM docs WHERE root=?", (root,)).fetchall()
        return {r[0]: DocRecord(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], json.loads(r[7]),
                                r[8] or "", r[9] or "") for r in rows}

    def all_docs(self) -> list[DocRecord]:
        """Every document in the data dir, whatever its root."""
        rows = self._db.execute("SELECT root FROM docs GROUP BY root").fetchall()
        return [d for (root,) in rows for d in self.docs(root).values()]

    def units(self, root: str) -> dict[str, tuple[str, list[str]]]:
        """unit -> (signature, sources it produced) for a corpus root."""
        rows = self._db.execute("SELECT unit, sig, sources FROM units WHERE root=?", (root,)).fetchall()
        return {u: (s, json.loads(src)) for u, s, src in rows}

    def mark_pending(self, root: str, recs: list[DocRecord]) -> None:
        """Record documents about to be written (one transaction); the root's id is recorded with its first."""
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO roots VALUES(?,?,?)", (root, self.root_id(root), time.time()))
            self._db.executemany(
                "INSERT OR REPLACE INTO docs VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                [(r.doc_id, root, r.unit, r.source, json.dumps(r.paths), r.version, r.dup_key, "pending",
                  json.dumps(r.chunk_ids), r.kind, r.title, time.time()) for r in recs])

    def mark_done(self, doc_ids: list[str]) -> None:
        """Documents whose chunks are all in the store."""
        with self._db:
            self._db.executemany("UPDATE docs SET state='done', updated=? WHERE doc_id=?",
                                 [(time.time(), d) for d in doc_ids])

    def mark_pending_again(self, doc_ids: list[str]) -> None:
        """Documents to write again (their chunks are missing from the store)."""
        with self._db:
            self._db.executemany("UPDATE docs SET state='pending', updated=? WHERE doc_id=?",
                                 [(time.time(), d) for d in doc_ids])

    def forget(self, doc_ids: list[str]) -> None:
        """Drop documents (after their chunks left the store)."""
        with self._db:
            self._db.executemany("DELETE FROM docs WHERE doc_id=?", [(d,) for d in doc_ids])

    def set_units(self, root: str, units: dict[str, tuple[str, list[str]]], *, drop_others: bool) -> None:
        """Remember each unit's signature once everything from it landed."""
        with self._db:
            if drop_others:
                self._db.execute("DELETE FROM units WHERE root=?", (root,))
            self._db.executemany("INSERT OR REPLACE INTO units VALUES(?,?,?,?)",
                                 [(u, root, sig, json.dumps(src)) for u, (sig, src) in units.items()])


def open_manifest(settings: Settings) -> Manifest:
    """The configured ledger: this SQLite file, or the collection's tables in PostgreSQL (``store='postgres'``)."""
    if settings.store == "postgres":
        from ingest.ledger_pg import PgManifest  # psycopg is an optional extra

        return PgManifest(settings)
    return Manifest(settings.manifest_path)

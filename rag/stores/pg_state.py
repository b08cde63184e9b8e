"""Small shared documents in the collection's ``directory`` table (the people directory), by key."""

from __future__ import annotations

from rag.config import Settings
from rag.stores.pg import Database, quote_ident
from rag.stores.pg_schema import applied_version


def load_document(settings: Settings, key: str) -> str | None:
    """The JSON text stored under ``key``, or None (nothing saved, or no collection yet)."""
    db = Database(settings)
    try:
        if applied_version(db) == 0:
            return None
        row = db.one(f"SELECT body::text FROM {quote_ident(db.schema)}.directory WHERE key = %s", (key,))
        return row[0] if row else None
    finally:
        db.close()


def save_document(settings: Settings, key: str, text: str) -> None:
    """Store JSON ``text`` under ``key`` (replacing it); a no-op before the collection exists."""
    db = Database(settings)
    try:
        if applied_version(db) == 0:
            return
        with db.transaction("save the people directory") as conn:
            conn.execute(f"INSERT INTO {quote_ident(db.schema)}.directory VALUES (%s, %s::jsonb, now()) "
                         "ON CONFLICT (key) DO UPDATE SET body = EXCLUDED.body, updated = now()", (key, text))
    finally:
        db.close()

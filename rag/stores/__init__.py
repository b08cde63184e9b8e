"""Vector stores behind one seam; ``open_store`` picks one from settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.config import Settings
from rag.embeddings.base import Embedder
from rag.stores.base import LexicalIndex, VectorStore
from rag.stores.chroma import ChromaStore

if TYPE_CHECKING:
    from rag.stores.postgres import PostgresStore


def open_store(settings: Settings, embedder: Embedder, *, create: bool = True) -> ChromaStore | PostgresStore:
    """Open (or create) the configured store for vectors of ``embedder``.

    ``postgres`` needs the ``postgres`` extra (psycopg 3); without it this is a ``BackendUnavailable`` naming it."""
    if settings.store in ("chroma-embedded", "chroma-http"):
        return ChromaStore(settings, embedder_name=embedder.name, dim=embedder.dim, create=create)
    if settings.store == "postgres":
        from rag.stores.postgres import PostgresStore  # imported here: rag.bm25 imports this package

        return PostgresStore(settings, embedder_name=embedder.name, dim=embedder.dim, create=create)
    raise ValueError(f"unknown store {settings.store!r}")  # pragma: no cover - Settings validates


__all__ = ["VectorStore", "LexicalIndex", "open_store", "ChromaStore"]

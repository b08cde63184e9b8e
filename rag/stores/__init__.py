"""Vector stores behind one seam; ``open_store`` picks one from settings."""

from __future__ import annotations

from rag.config import Settings
from rag.embeddings.base import Embedder
from rag.stores.base import VectorStore
from rag.stores.chroma import ChromaStore


def open_store(settings: Settings, embedder: Embedder, *, create: bool = True) -> ChromaStore:
    """Open (or create) the configured store for vectors of ``embedder``."""
    if settings.store in ("chroma-embedded", "chroma-http"):
        return ChromaStore(settings, embedder_name=embedder.name, dim=embedder.dim, create=create)
    raise ValueError(f"unknown store {settings.store!r}")  # pragma: no cover - Settings validates


__all__ = ["VectorStore", "open_store", "ChromaStore"]

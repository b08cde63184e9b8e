"""Embedders behind one seam; ``make_embedder`` picks one from settings."""

from __future__ import annotations

from functools import lru_cache

from rag.config import Settings
from rag.embeddings.base import Embedder


@lru_cache(maxsize=4)
def _cached(kind: str, batch_size: int) -> Embedder:
    # Loading MiniLM costs ~2 s; one instance per process and configuration is enough.
    if kind == "hashing":
        from rag.embeddings.hashing import HashingEmbedder

        return HashingEmbedder()
    from rag.embeddings.minilm import MiniLMEmbedder

    return MiniLMEmbedder(batch_size=batch_size)


def make_embedder(settings: Settings) -> Embedder:
    """The embedder named by ``settings.embedder``."""
    return _cached(settings.embedder, settings.embed_batch_size)


__all__ = ["Embedder", "make_embedder"]

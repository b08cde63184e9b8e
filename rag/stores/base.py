"""The vector store seam."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from rag.types import Chunk, Filters


class VectorStore(Protocol):
    """Chunks with their vectors. Callers always pass vectors; the store never embeds.

    Every backend passes ``tests/stores/test_contract.py``. Errors are ours: ``StoreError`` for a missing or
    corrupt store, ``BackendUnavailable`` for an unreachable server, ``EmbeddingMismatch`` for vectors of
    another model.
    """

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Insert or replace chunks by ``chunk_id`` (idempotent)."""
        ...

    def delete_document(self, doc_id: str, *, keep: set[str] | None = None) -> int:
        """Delete the document's chunks except those in ``keep``; returns how many were deleted."""
        ...

    def search(self, vector: np.ndarray, *, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity (higher is closer), filtered inside the search."""
        ...

    def get(self, *, doc_id: str | None = None, ids: Sequence[str] | None = None) -> list[Chunk]:
        """Chunks of one document (in order) or by id; unknown ids are left out."""
        ...

    def iter_chunks(self, filters: Filters | None = None, *, batch: int = 2000) -> Iterator[Chunk]:
        """Every chunk passing ``filters`` (for BM25 and reports), in pages."""
        ...

    def count(self) -> int:
        """Number of chunks stored."""
        ...

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of those ``ids`` that exist (ingest reuses them for unchanged passages)."""
        ...


class LexicalIndex(Protocol):
    """The keyword side of hybrid retrieval: in-memory BM25 (``rag.bm25``) or BM25 inside the database."""

    def search(self, query: str, *, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks by BM25 among those passing ``filters``; zero-score chunks are left out."""
        ...

    def idf(self, term: str) -> float:
        """Inverse document frequency of a stemmed term (evidence coverage and expert ranking weigh by it)."""
        ...

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk (reports; not on the query path)."""
        ...

    def docs_with_text(self, needle: str, *, exclude_kind: str) -> frozenset[str]:
        """Ids of the documents with a chunk whose text holds ``needle`` (chunks of ``exclude_kind`` aside):
        on the query path, so in the database where the chunks are (the codify drafts' banner)."""
        ...

"""BM25 over the very chunks in the vector store (bm25s), with the same filters applied inside.

The index is rebuilt when the store changes (its chunk count or the ingest ledger's mtime moves).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import bm25s
import numpy as np

from rag.stores.base import VectorStore
from rag.text import STOPWORDS, embed_text, stem, words
from rag.types import Chunk, Filters


def bm25_tokens(text: str) -> list[str]:
    """Lower-cased, stopword-free, lightly stemmed tokens (the same for chunks and queries)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def allowed(chunk: Chunk, filters: Filters | None) -> bool:
    """The filter semantics of the vector store, for chunks held in memory."""
    if filters is None:
        return True
    if filters.kind and chunk.kind not in filters.kind:
        return False
    if filters.channel and (chunk.channel or "") not in filters.channel:
        return False
    if filters.date_from or filters.date_to:
        try:
            d = date.fromisoformat((chunk.date or "")[:10])
        except ValueError:
            return False
        if filters.date_from and d < filters.date_from:
            return False
        if filters.date_to and d > filters.date_to:
            return False
    if filters.groups is not None:
        groups = set(filters.groups) | {"public"}
        if not groups.intersection(chunk.access):
            return False
    return True


class BM25Index:
    """An in-memory bm25s index of every stored chunk."""

    def __init__(self, store: VectorStore, *, version: Callable[[], object]) -> None:
        self._store = store
        self._version_fn = version
        self._version: object = None
        self._lock = threading.Lock()
        self.chunks: list[Chunk] = []
        self._retriever: bm25s.BM25 | None = None
        self._vocab: dict[str, int] = {}
        self._idf_cache: dict[str, float] = {}
        self._idf_version: object = None

    def _refresh(self) -> None:
        v = self._version_fn()
        if v == self._version and self._retriever is not None:
            return
        with self._lock:
            if v == self._version and self._retriever is not None:
                return
            chunks = list(self._store.iter_chunks())
            corpus = [bm25_tokens(embed_text(c)) or ["__empty__"] for c in chunks]
            retriever = bm25s.BM25()
            if corpus:
                retriever.index(corpus, show_progress=False)
            self.chunks, self._retriever, self._version = chunks, retriever, v
            self._vocab = retriever.vocab_dict if corpus else {}

    def search(self, query: str, *, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks by BM25 among those passing ``filters``; zero-score chunks are left out."""
        self._refresh()
        if not self.chunks or self._retriever is None:
            return []
        q = [t for t in bm25_tokens(query) if t in self._vocab]
        if not q:
            return []
        scores = np.asarray(self._retriever.get_scores(q), dtype=np.float64)
        if filters is not None:
            mask = np.fromiter((allowed(c, filters) for c in self.chunks), dtype=bool, count=len(self.chunks))
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]

    def idf(self, term: str) -> float:
        """Inverse document frequency of a (stemmed) term; unknown terms get the maximum.

        Uses the index as of the last search (no store round-trip per call)."""
        if self._retriever is None:
            self._refresh()
        cached = self._idf_cache.get(term)
        if cached is not None and self._idf_version == self._version:
            return cached
        if self._idf_version != self._version:
            self._idf_cache, self._idf_version = {}, self._version
        n = max(len(self.chunks), 1)
        df = 0
        if self._retriever is not None and term in self._vocab:
            tid = self._vocab[term]
            scores = self._retriever.scores
            indptr = scores["indptr"]
            if tid + 1 < len(indptr):
                df = int(indptr[tid + 1] - indptr[tid])
        value = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        self._idf_cache[term] = value
        return value

"""BM25 over the very chunks in the vector store (bm25s), with the same filters applied inside.

The index is rebuilt when the store changes (its chunk count or the ingest ledger's mtime moves): inline
while that is cheap, in the background for large stores (see :class:`BM25Index`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import bm25s
import numpy as np

from rag.stores.base import VectorStore
from rag.text import STOPWORDS, embed_text, stem, words
from rag.types import Chunk, Filters

log = logging.getLogger("whoknows.bm25")


_STEMS: dict[str, str] = {}


def bm25_tokens(text: str) -> list[str]:
    """Lower-cased, stopword-free, lightly stemmed tokens (the same for chunks and queries)."""
    # Stems are memoised: a corpus has tens of thousands of distinct words but millions of occurrences
    # (at 100k chunks this cuts the index build from ~40 s of stemming to ~2 s).
    out = []
    for w in words(text):
        s = _STEMS.get(w)
        if s is None:
            if w in STOPWORDS or len(w) <= 1:
                s = ""
            else:
                s = stem(w)
            if len(_STEMS) < 500_000:
                _STEMS[w] = s
        if s:
            out.append(s)
    return out


def chunk_tokens(chunk: Chunk, *, title_boost: int = 1) -> list[str]:
    """A chunk's BM25 tokens: its title and section path count ``title_boost`` times, its text once.

    A boost on the header is BM25F with one weighted field; the cheapest form of it, since the query side
    stays one index lookup."""
    if title_boost <= 1:
        return bm25_tokens(embed_text(chunk))
    head = bm25_tokens(f"{chunk.title} {chunk.section}")
    return head * title_boost + bm25_tokens(chunk.text)


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


@dataclass
class _Snapshot:
    """One generation of the index. Searches read one snapshot whole; a rebuild swaps in a new one."""

    version: object
    chunks: list[Chunk]
    retriever: bm25s.BM25 | None
    vocab: dict[str, int]
    kinds: np.ndarray
    channels: np.ndarray
    dates: np.ndarray  # date ordinal per chunk, 0 when undated
    build_s: float
    groups: dict[str, np.ndarray] = field(default_factory=dict)  # access group -> chunk mask, filled lazily
    by_doc: dict[str, list[Chunk]] | None = None  # doc id -> its chunks in order, filled on first use
    idf_cache: dict[str, float] = field(default_factory=dict)

    def mask(self, filters: Filters) -> np.ndarray:
        """:func:`allowed` for every chunk at once (a Python loop costs ~100 ms at 100k chunks)."""
        m = np.ones(len(self.chunks), dtype=bool)
        if filters.kind:
            m &= np.isin(self.kinds, list(filters.kind))
        if filters.channel:
            m &= np.isin(self.channels, list(filters.channel))
        if filters.date_from or filters.date_to:
            m &= self.dates > 0
            if filters.date_from:
                m &= self.dates >= filters.date_from.toordinal()
            if filters.date_to:
                m &= self.dates <= filters.date_to.toordinal()
        if filters.groups is not None:
            readable = np.zeros(len(self.chunks), dtype=bool)
            for group in set(filters.groups) | {"public"}:
                if group not in self.groups:
                    self.groups[group] = np.fromiter((group in c.access for c in self.chunks), dtype=bool,
                                                     count=len(self.chunks))
                readable |= self.groups[group]
            m &= readable
        return m


def _date_ordinal(value: str | None) -> int:
    try:
        return date.fromisoformat((value or "")[:10]).toordinal()
    except ValueError:
        return 0


class BM25Index:
    """An in-memory bm25s index of every stored chunk.

    Rebuilt when ``version()`` changes. A rebuild that took under ``inline_rebuild_s`` last time runs inline
    (the next search sees the change at once); a slower one - a large store - runs in a background thread
    while searches keep using the previous index, so an ingest never makes queries wait (at most one rebuild
    at a time, and the next starts no sooner than twice the last build's duration after it).
    """

    def __init__(self, store: VectorStore, *, version: Callable[[], object], inline_rebuild_s: float = 1.0,
                 title_boost: int = 1) -> None:
        self._store = store
        self._title_boost = max(title_boost, 1)
        self._version_fn = version
        self._inline_s = inline_rebuild_s
        self._snap: _Snapshot | None = None
        self._lock = threading.Lock()  # one build at a time
        self._thread: threading.Thread | None = None
        self._not_before = 0.0

    @property
    def chunks(self) -> list[Chunk]:
        """The chunks of the current index."""
        return self._snap.chunks if self._snap is not None else []

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk, as of the index (rebuilt first if the store changed and that is cheap)."""
        return self._current().chunks

    def document(self, doc_id: str, *, version: object) -> list[Chunk] | None:
        """Every chunk of one document, in order, from the index - ``None`` unless the index is of store
        state ``version`` (the caller then reads the store)."""
        snap = self._snap
        if snap is None or snap.version != version:
            return None
        if snap.by_doc is None:
            by_doc: dict[str, list[Chunk]] = {}
            for c in snap.chunks:
                by_doc.setdefault(c.doc_id, []).append(c)
            for cs in by_doc.values():
                cs.sort(key=lambda c: c.index)
            snap.by_doc = by_doc
        return list(snap.by_doc.get(doc_id, ()))

    def docs_with_text(self, needle: str, *, exclude_kind: str) -> frozenset[str]:
        """Ids of the documents with a chunk whose text holds ``needle`` (:class:`LexicalIndex`)."""
        return frozenset(c.doc_id for c in self._current().chunks if c.kind != exclude_kind and needle in c.text)

    def _current(self) -> _Snapshot:
        v = self._version_fn()
        snap = self._snap
        if snap is not None and snap.version == v:
            return snap
        if snap is None or snap.build_s < self._inline_s:
            with self._lock:
                snap = self._snap
                if snap is None or snap.version != v:
                    snap = self._snap = self._build(v)
            return snap
        self._rebuild_in_background()
        return snap

    def _rebuild_in_background(self) -> None:
        with self._lock:
            busy = self._thread is not None and self._thread.is_alive()
            if busy or time.monotonic() < self._not_before:
                return
            self._thread = threading.Thread(target=self._background, name="bm25-rebuild", daemon=True)
            self._thread.start()

    def _background(self) -> None:
        try:
            snap = self._build(self._version_fn())  # the version read first: a change during the build shows
            with self._lock:
                self._snap = snap
                self._not_before = time.monotonic() + 2 * snap.build_s
        except Exception as exc:  # noqa: BLE001 - keep serving the previous index; the next search retries
            log.warning("BM25 rebuild failed, serving the previous index: %s", exc)

    def wait(self) -> None:
        """Block until a background rebuild in flight, if any, has finished (for tests and benchmarks)."""
        thread = self._thread
        if thread is not None:
            thread.join()

    def _build(self, version: object) -> _Snapshot:
        t0 = time.perf_counter()
        chunks = list(self._store.iter_chunks(batch=5000))
        corpus = [chunk_tokens(c, title_boost=self._title_boost) or ["__empty__"] for c in chunks]
        retriever = bm25s.BM25()
        if corpus:
            retriever.index(corpus, show_progress=False)
        return _Snapshot(version=version, chunks=chunks, retriever=retriever if corpus else None,
                         vocab=retriever.vocab_dict if corpus else {},
                         kinds=np.array([c.kind for c in chunks], dtype=str),
                         channels=np.array([c.channel or "" for c in chunks], dtype=str),
                         dates=np.array([_date_ordinal(c.date) for c in chunks], dtype=np.int64),
                         build_s=time.perf_counter() - t0)

    def search(self, query: str, *, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks by BM25 among those passing ``filters``; zero-score chunks are left out."""
        snap = self._current()
        if not snap.chunks or snap.retriever is None:
            return []
        q = [t for t in bm25_tokens(query) if t in snap.vocab]
        if not q:
            return []
        scores = np.asarray(snap.retriever.get_scores(q), dtype=np.float64)
        if filters is not None:
            scores = np.where(snap.mask(filters), scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(snap.chunks[i], float(scores[i])) for i in top if scores[i] > 0]

    def idf(self, term: str) -> float:
        """Inverse document frequency of a (stemmed) term; unknown terms get the maximum.

        Uses the index as of the last search (no store round-trip per call)."""
        snap = self._snap if self._snap is not None else self._current()
        cached = snap.idf_cache.get(term)
        if cached is not None:
            return cached
        n = max(len(snap.chunks), 1)
        df = 0
        if snap.retriever is not None and term in snap.vocab:
            tid = snap.vocab[term]
            indptr = snap.retriever.scores["indptr"]
            if tid + 1 < len(indptr):
                df = int(indptr[tid + 1] - indptr[tid])
        value = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        snap.idf_cache[term] = value
        return value

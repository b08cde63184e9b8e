"""Chroma adapter: embedded ``PersistentClient`` or a ``chroma run`` server over HTTP.

Chroma never embeds for us: the collection has no embedding function and every call passes vectors.
The metadata mapping lives in :mod:`rag.stores.chroma_meta`.

Every Chroma call runs inside :meth:`ChromaStore._guard`, so a corrupt directory or an unreachable
server surfaces as a :class:`StoreError` / :class:`BackendUnavailable` that says how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import BackendUnavailable, EmbeddingMismatch, StoreError, WhoknowsError
from rag.stores.chroma_meta import chunk_to_metadata, filters_to_where, metadata_to_chunk, passes
from rag.stores.rwlock import ReadWriteLock
from rag.types import Chunk, Filters

# Chroma raises this while the first ingest into a brand-new collection has not yet written its vector
# index to disk (a second process - the query server - sees rows but no index): there is nothing to find.
_INDEX_NOT_WRITTEN = "Nothing found on disk"
# HNSW breadth for new collections (Chroma's defaults: search 10, construction 100). At the defaults a fresh
# build of data/ sometimes missed a passage at dense rank 5 of 6 (cosines 0.3885 / 0.3855), which flipped
# the dense/BM25 agreement signal and with it an abstention; searches here ask for 40-odd candidates, so
# the cost is small.
SEARCH_EF = 200


class ChromaStore:
    """Our chunks in one Chroma collection, cosine space, vectors always supplied by us.

    ``create=False`` (the query side) refuses to conjure an empty store: a missing directory, a missing
    collection or a corrupt database is a :class:`StoreError` naming the fix.
    """

    def __init__(self, settings: Settings, *, embedder_name: str, dim: int, create: bool = True) -> None:
        self.embedder_name, self.dim = embedder_name, dim
        self._http = settings.store == "chroma-http"
        self._collection_name = settings.collection
        if self._http:
            self.where = f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
            self._fix = ("start it with `chroma run --path DIR --host HOST --port PORT`, or point "
                         "WHOKNOWS_CHROMA_HOST / WHOKNOWS_CHROMA_PORT at the running one")
        else:
            self.where = f"the Chroma store at {settings.chroma_path}"
            self._fix = (f"it may be corrupt - move {settings.data_dir} aside and run `whoknows ingest PATH` "
                         "again to rebuild it")
        self._settings = settings
        self._lock = ReadWriteLock()
        self._db_file = settings.chroma_path / "chroma.sqlite3"
        self._client = self._connect(settings, create)
        self._col = self._open_collection(settings, create)
        self._seen = _file_signature(self._db_file)  # after opening: opening itself touches the file
        self._counted: tuple[tuple[int, ...] | None, int] = (None, 0)
        self._check_embedder(settings)

    # -- opening -------------------------------------------------------------------------------
    def _connect(self, settings: Settings, create: bool) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self._http:
            with self._guard("connect"):
                client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                             settings=chroma_settings)
                client.heartbeat()
            return client
        path = settings.chroma_path
        if not create and not (path / "chroma.sqlite3").is_file():
            what = "No store" if not path.exists() else "No Chroma database (chroma.sqlite3)"
            raise StoreError(
                f"{what} at {path} - run `whoknows ingest PATH` first, or point --data-dir / "
                "WHOKNOWS_DATA_DIR at an existing store."
            )
        with self._guard("open"):
            path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)

    def _open_collection(self, settings: Settings, create: bool) -> Any:
        from chromadb.errors import NotFoundError

        name = settings.collection
        try:
            with self._guard("open the collection"):
                if create:
                    col = self._client.get_or_create_collection(
                        name=name, embedding_function=None,
                        metadata={"hnsw:space": "cosine", "hnsw:search_ef": SEARCH_EF,
                                  "hnsw:construction_ef": SEARCH_EF, "embedder": self.embedder_name, "dim": self.dim})
                else:
                    col = self._client.get_collection(name=name, embedding_function=None)
                col.count()  # a cheap read: a corrupt database fails here, at open, not mid-query
                return col
        except StoreError as exc:
            if isinstance(exc.__cause__, NotFoundError | ValueError) and not create:
                env = "WHOKNOWS_STORE=chroma-http " if self._http else ""
                raise StoreError(f"No collection {name!r} in {self.where} - run `{env}whoknows ingest PATH` "
                                 "first, or set WHOKNOWS_COLLECTION to the one you ingested into.") from exc
            raise

    def _check_embedder(self, settings: Settings) -> None:
        meta = self._col.metadata or {}
        stored, stored_dim = meta.get("embedder"), meta.get("dim")
        if (stored and stored != self.embedder_name) or (stored_dim and int(stored_dim) != self.dim):
            raise EmbeddingMismatch(
                f"The collection {settings.collection!r} in {self.where} was built with the {stored!r} embedder "
                f"({stored_dim} dims) but {self.embedder_name!r} ({self.dim} dims) is configured - set "
                "WHOKNOWS_EMBEDDER to match, or ingest into a new --data-dir / WHOKNOWS_COLLECTION."
            )

    @contextmanager
    def _reading(self, action: str) -> Iterator[None]:
        """An operation on the current client: shares the lock with other operations, errors translated."""
        with self._lock.reading(), self._guard(action):
            yield

    def _refresh_if_written_elsewhere(self) -> None:
        """Embedded mode: Chroma's in-memory vector index does not see what another process (an ingest)
        wrote after this one opened the store - it misses new chunks and returns deleted ones. When the
        database file changed, reopen the client so the index is reloaded from disk (0.2 s at 100k chunks)."""
        if self._http or _file_signature(self._db_file) == self._seen:
            return
        with self._lock.writing():
            if _file_signature(self._db_file) == self._seen:  # another thread reopened meanwhile
                return
            with self._guard("reopen"):
                self._client.close()  # the last client of this path: Chroma drops its cached index
                self._client = self._connect(self._settings, create=False)
                self._col = self._client.get_collection(name=self._collection_name, embedding_function=None)
            self._seen = _file_signature(self._db_file)  # after reopening, which touches the file too

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn Chroma's and the HTTP client's exceptions into our errors, with the fix."""
        try:
            yield
        except WhoknowsError:
            raise
        except Exception as exc:
            detail = f"({type(exc).__name__}: {str(exc)[:300]})"
            if self._http and _is_connection_error(exc):
                raise BackendUnavailable(f"Cannot reach {self.where} - {self._fix} {detail}") from exc
            raise StoreError(f"Cannot {action} in {self.where} - {self._fix} {detail}") from exc

    def _check_dim(self, vectors: np.ndarray) -> None:
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise EmbeddingMismatch(
                f"{self.where} holds {self.dim}-dim vectors of {self.embedder_name!r}; got shape "
                f"{tuple(vectors.shape)} - embed with the configured embedder.")

    # -- the seam ------------------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Insert or replace chunks; vectors must be one row per chunk."""
        if not chunks:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        self._check_dim(vectors)
        step = 1000
        with self._reading("write chunks"):
            for i in range(0, len(chunks), step):
                part = chunks[i : i + step]
                self._col.upsert(
                    ids=[c.chunk_id for c in part],
                    embeddings=vectors[i : i + step],
                    documents=[c.text for c in part],
                    metadatas=[chunk_to_metadata(c) for c in part],
                )

    def delete_document(self, doc_id: str, *, keep: set[str] | None = None) -> int:
        """Delete a document's chunks, sparing the ids in ``keep``."""
        with self._reading("delete a document"):
            got = self._col.get(where={"doc_id": doc_id}, include=[])
            doomed = [i for i in got["ids"] if not keep or i not in keep]
            for part in _pages(doomed):
                self._col.delete(ids=part)
        return len(doomed)

    def search(self, vector: np.ndarray, *, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Cosine nearest neighbours; score is 1 - cosine distance.

        With filters, the unfiltered top ``4k`` (at least 200) is fetched first and filtered here: when ``k`` of
        them pass they are exactly the filtered top ``k``, at a fraction of the cost of Chroma's metadata
        filter (10 ms instead of 100-400 ms at 100k chunks). Narrow filters fall back to Chroma's ``where``.
        """
        if k <= 0:
            return []
        vector = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        self._check_dim(vector)
        self._refresh_if_written_elsewhere()
        where = filters_to_where(filters)
        if where is not None and filters is not None:
            rows = [r for r in self._query(vector, max(4 * k, 200), None) if passes(r[2], filters)]
            if len(rows) >= k:
                return [(metadata_to_chunk(cid, text, meta), score) for cid, text, meta, score in rows[:k]]
        return [(metadata_to_chunk(cid, text, meta), score) for cid, text, meta, score in self._query(vector, k, where)]

    def _query(self, vector: np.ndarray, n: int, where: dict[str, Any] | None) -> list[tuple[str, str, Any, float]]:
        """(id, text, metadata, score) of the ``n`` nearest; rows of chunks deleted since the vector index was
        loaded (they come back without metadata) are left out."""
        try:
            with self._reading("search"):
                res: Any = self._col.query(query_embeddings=vector, n_results=n, where=where,
                                           include=["documents", "metadatas", "distances"])
        except StoreError as exc:
            if _INDEX_NOT_WRITTEN in str(exc.__cause__):
                return []
            raise
        return [(cid, text, meta, 1.0 - float(dist)) for cid, text, meta, dist in zip(
            res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0], strict=True)
            if meta is not None]

    def get(self, *, doc_id: str | None = None, ids: Sequence[str] | None = None) -> list[Chunk]:
        """Chunks of a document, ordered by index, or the given ids."""
        with self._reading("read chunks"):
            if ids is not None:
                pages: list[Any] = [self._col.get(ids=part, include=["documents", "metadatas"]) for part in _pages(ids)]
            else:
                pages = [self._col.get(where={"doc_id": doc_id or ""}, include=["documents", "metadatas"])]
        chunks = [metadata_to_chunk(i, t, m) for res in pages
                  for i, t, m in zip(res["ids"], res["documents"], res["metadatas"], strict=True)]
        return sorted(chunks, key=lambda c: c.index) if ids is None else chunks

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are already stored."""
        with self._reading("read chunk ids"):
            return {i for part in _pages(ids) for i in self._col.get(ids=part, include=[])["ids"]}

    def iter_chunks(self, filters: Filters | None = None, *, batch: int = 2000) -> Iterator[Chunk]:
        """Page through every chunk passing ``filters``."""
        offset = 0
        where = filters_to_where(filters)
        while True:
            with self._reading("read chunks"):
                res: Any = self._col.get(where=where, limit=batch, offset=offset,  # type: ignore[arg-type]
                                         include=["documents", "metadatas"])
            if not res["ids"]:
                return
            for i, t, m in zip(res["ids"], res["documents"], res["metadatas"], strict=True):
                yield metadata_to_chunk(i, t, m)
            offset += len(res["ids"])

    def count(self) -> int:
        """Number of chunks in the collection."""
        # Embedded: remembered while the database file is unchanged (a count costs ~5 ms at 100k chunks and
        # the query side asks on every search, to notice an ingest).
        seen = None if self._http else _file_signature(self._db_file)
        if seen is not None and seen == self._counted[0]:
            return self._counted[1]
        with self._reading("count chunks"):
            n = int(self._col.count())
        if seen is not None:
            self._counted = (seen, n)
        return n

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of those ``ids`` that exist (reused when a changed document keeps a passage)."""
        out: dict[str, np.ndarray] = {}
        with self._reading("read vectors"):
            for part in _pages(ids):
                res: Any = self._col.get(ids=part, include=["embeddings"])
                embs = res.get("embeddings")
                if embs is not None:
                    out.update((i, np.asarray(e, dtype=np.float32)) for i, e in zip(res["ids"], embs, strict=True))
        return out

    @property
    def collection(self) -> object:
        """The raw Chroma collection - for the llama-index baseline and the benchmark floor in ``eval/`` only.

        Valid until the store reopens its client (after another process wrote): look it up, do not keep it."""
        return self._col


def _pages(ids: Sequence[str], size: int = 1000) -> list[list[str]]:
    """``ids`` in pages: Chroma binds each id as one SQLite variable, and SQLite allows 32,766 per statement
    (a 25 MB single-line text makes more chunks than that)."""
    return [list(ids[i:i + size]) for i in range(0, len(ids), size)]


def _file_signature(path: Path) -> tuple[int, ...]:
    """(mtime in ns, size) of the SQLite database and of its write-ahead log, if any; zeros when missing."""
    out = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = p.stat()
            out += [st.st_mtime_ns, st.st_size]
        except OSError:
            out += [0, 0]
    return tuple(out)


def _is_connection_error(exc: BaseException) -> bool:
    """True for a refused / dropped / timed-out connection anywhere in the exception chain."""
    import httpx

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, httpx.TransportError | ConnectionError | TimeoutError):
            return True
        if "Could not connect" in str(seen) or "Connection refused" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False

"""Chroma adapter: embedded ``PersistentClient`` or a ``chroma run`` server over HTTP.

Chroma never embeds for us: the collection has no embedding function and every call passes vectors.
Chroma metadata holds scalars only, so tuples travel as JSON strings and access groups as one
boolean key per group (``acl:<group>``), which lets the ACL filter run inside the search.

Every Chroma call runs inside :meth:`ChromaStore._guard`, so a corrupt directory or an unreachable
server surfaces as a :class:`StoreError` / :class:`BackendUnavailable` that says how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import BackendUnavailable, EmbeddingMismatch, StoreError, WhoknowsError
from rag.stores.rwlock import ReadWriteLock
from rag.types import Chunk, Filters, Message

_LIST_FIELDS = ("authors", "paths", "access", "doc_authors")
# Chroma raises this while the first ingest into a brand-new collection has not yet written its vector
# index to disk (a second process - the query server - sees rows but no index): there is nothing to find.
_INDEX_NOT_WRITTEN = "Nothing found on disk"


def _date_ord(value: str | None) -> int:
    if not value:
        return 0
    try:
        return date.fromisoformat(value[:10]).toordinal()
    except ValueError:
        return 0


def chunk_to_metadata(chunk: Chunk) -> dict[str, Any]:
    """Flatten a chunk into Chroma's scalar metadata."""
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "index": chunk.index,
        "section": chunk.section,
        "title": chunk.title,
        "kind": chunk.kind,
        "source": chunk.source,
        "url": chunk.url or "",
        "date": chunk.date or "",
        "date_ord": _date_ord(chunk.date),
        "channel": chunk.channel or "",
        "content_hash": chunk.content_hash,
        "messages": json.dumps([m.model_dump() for m in chunk.messages]) if chunk.messages else "",
    }
    for f in _LIST_FIELDS:
        meta[f] = json.dumps(list(getattr(chunk, f)))
    for group in chunk.access:
        meta[f"acl:{group}"] = True
    return meta


def metadata_to_chunk(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    """Inverse of :func:`chunk_to_metadata`."""
    msgs = json.loads(meta["messages"]) if meta.get("messages") else []
    return Chunk(
        chunk_id=chunk_id,
        doc_id=meta["doc_id"],
        index=int(meta.get("index", 0)),
        text=text,
        section=meta.get("section", ""),
        title=meta.get("title", ""),
        kind=meta.get("kind", "wiki"),
        source=meta.get("source", ""),
        url=meta.get("url") or None,
        date=meta.get("date") or None,
        channel=meta.get("channel") or None,
        content_hash=meta.get("content_hash", ""),
        messages=tuple(Message(**m) for m in msgs),
        **{f: tuple(json.loads(meta.get(f) or "[]")) for f in _LIST_FIELDS},
    )


def filters_to_where(filters: Filters | None) -> dict[str, Any] | None:
    """Translate our filters into a Chroma ``where`` clause (None when nothing filters)."""
    if filters is None:
        return None
    clauses: list[dict[str, Any]] = []
    if filters.kind:
        clauses.append({"kind": {"$in": list(filters.kind)}})
    if filters.channel:
        clauses.append({"channel": {"$in": list(filters.channel)}})
    if filters.date_from:
        clauses.append({"date_ord": {"$gte": filters.date_from.toordinal()}})
    if filters.date_to:
        clauses.append({"date_ord": {"$lte": filters.date_to.toordinal()}})
        if not filters.date_from:
            # Undated chunks (date_ord 0) never pass a date filter, as in BM25's ``allowed``.
            clauses.append({"date_ord": {"$gt": 0}})
    if filters.groups is not None:
        groups = sorted(set(filters.groups) | {"public"})
        acl = [{f"acl:{g}": True} for g in groups]
        clauses.append(acl[0] if len(acl) == 1 else {"$or": acl})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


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
                        metadata={"hnsw:space": "cosine", "embedder": self.embedder_name, "dim": self.dim})
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
        database file changed, reopen the client so the index is reloaded from disk (milliseconds)."""
        if self._http:
            return
        now = _file_signature(self._db_file)
        if now == self._seen:
            return
        with self._lock.writing():
            if now == self._seen:
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
            if doomed:
                self._col.delete(ids=doomed)
        return len(doomed)

    def search(self, vector: np.ndarray, *, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Cosine nearest neighbours; score is 1 - cosine distance. One round-trip to Chroma."""
        if k <= 0:
            return []
        vector = np.asarray(vector, dtype=np.float32)
        self._check_dim(vector.reshape(1, -1))
        self._refresh_if_written_elsewhere()
        try:
            with self._reading("search"):
                res: Any = self._col.query(query_embeddings=vector.reshape(1, -1), n_results=k,
                                           where=filters_to_where(filters),
                                           include=["documents", "metadatas", "distances"])
        except StoreError as exc:
            if _INDEX_NOT_WRITTEN in str(exc.__cause__):
                return []
            raise
        # A row without metadata is a chunk deleted after the vector index was loaded: leave it out.
        return [(metadata_to_chunk(cid, text, meta), 1.0 - float(dist)) for cid, text, meta, dist in zip(
            res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0], strict=True)
            if meta is not None]

    def get(self, *, doc_id: str | None = None, ids: Sequence[str] | None = None) -> list[Chunk]:
        """Chunks of a document, ordered by index, or the given ids."""
        with self._reading("read chunks"):
            if ids is not None:
                if not ids:
                    return []
                res: Any = self._col.get(ids=list(ids), include=["documents", "metadatas"])
            else:
                res = self._col.get(where={"doc_id": doc_id or ""}, include=["documents", "metadatas"])
        chunks = [metadata_to_chunk(i, t, m) for i, t, m in zip(res["ids"], res["documents"], res["metadatas"],
                                                                  strict=True)]
        return sorted(chunks, key=lambda c: c.index) if ids is None else chunks

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are already stored."""
        if not ids:
            return set()
        with self._reading("read chunk ids"):
            return set(self._col.get(ids=list(ids), include=[])["ids"])

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
        with self._reading("count chunks"):
            return int(self._col.count())

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of those ``ids`` that exist (reused when a changed document keeps a passage)."""
        if not ids:
            return {}
        with self._reading("read vectors"):
            res: Any = self._col.get(ids=list(ids), include=["embeddings"])
        embs = res.get("embeddings")
        if embs is None:
            return {}
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(res["ids"], embs, strict=True)}

    @property
    def collection(self) -> object:
        """The raw Chroma collection - for the plain llama-index baseline in ``eval/`` only."""
        return self._col


def _file_signature(path: Path) -> tuple[int, int]:
    """(mtime in ns, size) of a file; (0, 0) when it does not exist."""
    try:
        st = path.stat()
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


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

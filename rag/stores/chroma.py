"""Chroma adapter: embedded ``PersistentClient`` or a ``chroma run`` server over HTTP.

Chroma never embeds for us: the collection has no embedding function and every call passes vectors.
Chroma metadata holds scalars only, so tuples travel as JSON strings and access groups as one
boolean key per group (``acl:<group>``), which lets the ACL filter run inside the search.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import BackendUnavailable, EmbeddingMismatch, StoreError
from rag.types import Chunk, Filters, Message

_LIST_FIELDS = ("authors", "paths", "access", "doc_authors")


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
    if filters.groups is not None:
        groups = sorted(set(filters.groups) | {"public"})
        acl = [{f"acl:{g}": True} for g in groups]
        clauses.append(acl[0] if len(acl) == 1 else {"$or": acl})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class ChromaStore:
    """Our chunks in one Chroma collection, cosine space, vectors always supplied by us."""

    def __init__(self, settings: Settings, *, embedder_name: str, dim: int, create: bool = True) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if settings.store == "chroma-http":
                self._client = chromadb.HttpClient(
                    host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
                )
                self._client.heartbeat()
            else:
                path = settings.chroma_path
                if not create and not path.exists():
                    raise StoreError(
                        f"No store at {path} - run `whoknows ingest PATH` first, or point --data-dir / "
                        "WHOKNOWS_DATA_DIR at an existing store."
                    )
                path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except StoreError:
            raise
        except Exception as exc:
            where = (
                f"the Chroma server at {settings.chroma_host}:{settings.chroma_port} - is `chroma run` up?"
                if settings.store == "chroma-http"
                else f"the Chroma store at {settings.chroma_path} - it may be corrupt; move it aside and "
                "run `whoknows ingest PATH` again to rebuild it"
            )
            err = BackendUnavailable if settings.store == "chroma-http" else StoreError
            raise err(f"Cannot open {where} ({type(exc).__name__}: {exc})") from exc
        try:
            self._col = self._client.get_or_create_collection(
                name=settings.collection,
                embedding_function=None,
                metadata={"hnsw:space": "cosine", "embedder": embedder_name, "dim": dim},
            )
        except Exception as exc:
            raise StoreError(
                f"Cannot open collection {settings.collection!r} in {settings.chroma_path}: {exc}. "
                "Move the data dir aside and re-ingest to rebuild it."
            ) from exc
        stored = (self._col.metadata or {}).get("embedder")
        if stored and stored != embedder_name:
            raise EmbeddingMismatch(
                f"The store in {settings.data_dir} was built with the {stored!r} embedder but "
                f"{embedder_name!r} is configured - set WHOKNOWS_EMBEDDER to match, or re-ingest into a "
                "new --data-dir."
            )

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Insert or replace chunks; vectors must be one row per chunk."""
        if not chunks:
            return
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        step = 1000
        for i in range(0, len(chunks), step):
            part = chunks[i : i + step]
            self._col.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=np.asarray(vectors[i : i + step], dtype=np.float32).tolist(),
                documents=[c.text for c in part],
                metadatas=[chunk_to_metadata(c) for c in part],
            )

    def delete_document(self, doc_id: str, *, keep: set[str] | None = None) -> int:
        """Delete a document's chunks, sparing the ids in ``keep``."""
        got = self._col.get(where={"doc_id": doc_id}, include=[])
        doomed = [i for i in got["ids"] if not keep or i not in keep]
        if doomed:
            self._col.delete(ids=doomed)
        return len(doomed)

    def search(self, vector: np.ndarray, *, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Cosine nearest neighbours; score is 1 - cosine distance."""
        n = self._col.count()
        if n == 0 or k <= 0:
            return []
        res: Any = self._col.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
            n_results=min(k, n),
            where=filters_to_where(filters),
            include=["documents", "metadatas", "distances"],
        )
        out = []
        for cid, text, meta, dist in zip(
            res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0], strict=True
        ):
            out.append((metadata_to_chunk(cid, text, meta), 1.0 - float(dist)))
        return out

    def get(self, *, doc_id: str | None = None, ids: Sequence[str] | None = None) -> list[Chunk]:
        """Chunks of a document, ordered by index, or the given ids."""
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
        return set(self._col.get(ids=list(ids), include=[])["ids"])

    def iter_chunks(self, filters: Filters | None = None, *, batch: int = 2000) -> Iterator[Chunk]:
        """Page through every chunk passing ``filters``."""
        offset = 0
        where = filters_to_where(filters)
        while True:
            res: Any = self._col.get(where=where, limit=batch, offset=offset,  # type: ignore[arg-type]
                                     include=["documents", "metadatas"])
            if not res["ids"]:
                return
            for i, t, m in zip(res["ids"], res["documents"], res["metadatas"], strict=True):
                yield metadata_to_chunk(i, t, m)
            offset += len(res["ids"])

    def count(self) -> int:
        """Number of chunks in the collection."""
        return int(self._col.count())

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of those ``ids`` that exist (reused when a changed document keeps a passage)."""
        if not ids:
            return {}
        res: Any = self._col.get(ids=list(ids), include=["embeddings"])
        embs = res.get("embeddings")
        if embs is None:
            return {}
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(res["ids"], embs, strict=True)}

    @property
    def collection(self) -> object:
        """The raw Chroma collection - for the plain llama-index baseline in ``eval/`` only."""
        return self._col

"""How our chunks and filters map onto Chroma's scalar metadata and ``where`` clauses.

Chroma metadata holds scalars only, so tuples travel as JSON strings and access groups as one boolean key
per group (``acl:<group>``), which lets the ACL filter run inside the search.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

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


def passes(meta: dict[str, Any], filters: Filters) -> bool:
    """:func:`filters_to_where`, evaluated on one row's metadata."""
    if filters.kind and meta.get("kind") not in filters.kind:
        return False
    if filters.channel and (meta.get("channel") or "") not in filters.channel:
        return False
    if filters.date_from or filters.date_to:
        ordinal = int(meta.get("date_ord") or 0)
        if ordinal <= 0:
            return False
        if filters.date_from and ordinal < filters.date_from.toordinal():
            return False
        if filters.date_to and ordinal > filters.date_to.toordinal():
            return False
    if filters.groups is not None:
        return any(meta.get(f"acl:{g}") is True for g in set(filters.groups) | {"public"})
    return True

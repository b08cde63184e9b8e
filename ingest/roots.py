"""Corpus roots in one data dir: moving a store written before corpus-root ids onto them, and forgetting a root.

A store written before corpus-root ids (issue 11, item 3) has document ids that hash the source alone, so two
corpora sharing a relative path overwrote each other. At the first ingest of a root with this code, each of the
root's documents gets its new id (:func:`ingest.ids.document_id`) without embedding anything: its chunks are
copied, vectors and all, under the ids the chunker would now give them, the query log's citations follow, and the
old chunks go. Every step is safe to kill: the old record stays in the ledger until its chunks are gone, so the
next run finishes the move.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from ingest.ids import document_id, rekeyed
from ingest.lock import ingest_lock
from ingest.manifest import DocRecord, Manifest, open_manifest
from rag.access import Memberships
from rag.config import Settings
from rag.errors import ConfigError, NotFound
from rag.querylog import QueryLog
from rag.stores.base import VectorStore
from rag.types import Chunk, stable_hash

BATCH_DOCS = 200


def stale(manifest: Manifest, root: str, rid: str) -> list[DocRecord]:
    """The root's documents recorded under an id other than the one they get now."""
    return [r for r in manifest.docs(root).values() if r.doc_id != document_id(rid, r.source)]


def rekey_root(manifest: Manifest, store: VectorStore, settings: Settings, *, root: str, rid: str) -> int:
    """Give every document of ``root`` recorded under an older id its current id; returns how many moved."""
    todo = stale(manifest, root, rid)
    log = QueryLog.from_settings(settings)
    for i in range(0, len(todo), BATCH_DOCS):
        _move(manifest, store, log, root=root, rid=rid, batch=todo[i:i + BATCH_DOCS])
    return len(todo)


def _move(manifest: Manifest, store: VectorStore, log: QueryLog | None, *, root: str, rid: str,
          batch: list[DocRecord]) -> None:
    known = manifest.docs(root)
    new_ids = {r.doc_id: document_id(rid, r.source) for r in batch}
    recs: list[DocRecord] = []
    done: list[str] = []
    pairs: list[tuple[Chunk, Chunk]] = []  # (stored chunk, its copy under the new id)
    for r in batch:
        new_id = new_ids[r.doc_id]
        old = sorted(store.get(ids=r.chunk_ids), key=lambda c: c.index) if r.chunk_ids else []
        if not old and r.chunk_ids and new_id in known:
            continue  # moved by a run killed before it forgot the old record: only that is left to do
        moved = dict(zip([c.chunk_id for c in old], rekeyed(old, new_id), strict=True))
        recs.append(replace(r, doc_id=new_id, chunk_ids=[moved[c].chunk_id for c in r.chunk_ids if c in moved]))
        if r.state == "done" and len(moved) == len(set(r.chunk_ids)):
            done.append(new_id)  # else it stays pending (chunks were missing): the ingest that follows rewrites it
        pairs += [(c, moved[c.chunk_id]) for c in old]
    manifest.mark_pending(root, recs)
    vectors = store.vectors([c.chunk_id for c, _ in pairs])
    pairs = [(c, m) for c, m in pairs if c.chunk_id in vectors]
    if pairs:
        store.upsert([m for _, m in pairs], np.stack([vectors[c.chunk_id] for c, _ in pairs]))
    manifest.mark_done(done)
    if log is not None:
        log.rekey_documents(new_ids)  # before the old records go: a killed run redoes it, idempotently
    for old_id in new_ids:
        store.delete_document(old_id)
        manifest.forget([old_id])


def forget_root(manifest: Manifest, store: VectorStore, *, root: str) -> int:
    """Delete every document of corpus ``root`` from the store and the ledger (a folder moved or retired);
    returns how many documents went."""
    docs = manifest.docs(root)
    for doc_id in docs:
        store.delete_document(doc_id)
        manifest.forget([doc_id])  # one by one: a killed run leaves the ledger true
    manifest.forget_root(root)
    return len(docs)


def forget(path: Path, settings: Settings) -> int:
    """``whoknows forget PATH``: remove what was ingested from the corpus folder ``path`` (which may be gone:
    moved or deleted) - its documents, ledger records, Slack memberships and unpacked archives. Other corpora
    in the data dir stay. Returns how many documents went; NotFound when nothing was ingested from there."""
    from rag.embeddings import make_embedder
    from rag.stores import open_store

    root = str(path.expanduser().resolve())
    with ingest_lock(settings):
        manifest = open_manifest(settings)
        try:
            roots = manifest.roots()
            if root not in roots:
                known = ", ".join(sorted(roots)) or "none"
                raise NotFound(f"Nothing was ingested from {root} into this data dir (corpus folders: {known}) - "
                               "give `whoknows forget` the folder as it was given to `whoknows ingest`.")
            store = open_store(settings, make_embedder(settings), create=False)
            removed = forget_root(manifest, store, root=root)
        finally:
            manifest.close()
    try:
        members = Memberships.load(settings.memberships_path)
    except ConfigError:
        members = Memberships()  # derived data: the next ingest of each corpus writes it again
    if root in members.by_root:
        left = members.with_root(root, Memberships())
        Memberships(groups=left.groups, by_root={r: g for r, g in left.by_root.items() if r != root}).save(
            settings.memberships_path)
    shutil.rmtree(settings.data_dir / "unpacked" / stable_hash(root), ignore_errors=True)
    return removed

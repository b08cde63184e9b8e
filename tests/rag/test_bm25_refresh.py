"""BM25 follows the store: inline while rebuilding is cheap, in the background for large stores - where a
search never waits for the rebuild and serves the previous index until the new one is swapped in."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from rag.bm25 import BM25Index, allowed
from rag.config import Settings
from rag.embeddings.hashing import HashingEmbedder
from rag.stores import open_store
from rag.stores.chroma import ChromaStore
from rag.types import Chunk, Filters
from tests.stores.test_contract import FILTERS, corpus

EMB = HashingEmbedder(dim=64)


def chunk(i: int, text: str) -> Chunk:
    return Chunk(chunk_id=f"x{i}", doc_id=f"x{i}", index=0, text=text, title=f"T{i}", kind="wiki", source=f"x{i}.md")


class GatedStore:
    """The real store, whose ``iter_chunks`` (what a rebuild reads) waits at a gate once the gate is armed."""

    def __init__(self, store: ChromaStore) -> None:
        self.store = store
        self.armed = False
        self.gate = threading.Event()
        self.reading = threading.Event()

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def iter_chunks(self, filters: Filters | None = None, *, batch: int = 2000) -> Iterator[Chunk]:
        if self.armed:
            self.reading.set()
            self.gate.wait()
        yield from self.store.iter_chunks(filters, batch=batch)


@pytest.fixture
def store(tmp_path) -> ChromaStore:
    return open_store(Settings(data_dir=tmp_path / "data"), EMB)


def add(store: ChromaStore, chunks: list[Chunk]) -> None:
    store.upsert(chunks, EMB.embed_documents([c.text for c in chunks]))


def test_a_cheap_rebuild_is_inline_so_the_next_search_sees_the_change(store: ChromaStore) -> None:
    add(store, [chunk(0, "alpha rollout checklist")])
    index = BM25Index(store, version=store.count)
    assert [c.chunk_id for c, _ in index.search("alpha", k=5)] == ["x0"]

    add(store, [chunk(1, "zephyr failover drill")])

    assert [c.chunk_id for c, _ in index.search("zephyr", k=5)] == ["x1"]


def test_a_slow_rebuild_runs_in_the_background_while_searches_use_the_old_index(store: ChromaStore) -> None:
    add(store, [chunk(0, "alpha rollout checklist")])
    gated = GatedStore(store)
    index = BM25Index(gated, version=store.count, inline_rebuild_s=0.0)  # type: ignore[arg-type]
    assert [c.chunk_id for c, _ in index.search("alpha", k=5)] == ["x0"]  # the first build is always inline
    add(store, [chunk(1, "zephyr failover drill")])
    gated.armed = True
    safety = threading.Timer(60, gated.gate.set)  # only if a search wrongly waited for the rebuild
    safety.start()
    try:
        stale = index.search("zephyr", k=5)
        old = index.search("alpha", k=5)
        gate_was_open = gated.gate.is_set()
        assert gated.reading.wait(60), "no rebuild started"
    finally:
        gated.gate.set()
        safety.cancel()
    index.wait()

    assert not gate_was_open, "a search waited for the rebuild"
    assert stale == [] and [c.chunk_id for c, _ in old] == ["x0"]
    assert [c.chunk_id for c, _ in index.search("zephyr", k=5)] == ["x1"]


@pytest.mark.parametrize("name", FILTERS)
def test_filters_inside_bm25_match_the_store_semantics(store: ChromaStore, name: str) -> None:
    chunks = corpus()
    add(store, chunks)
    index = BM25Index(store, version=store.count)
    f = FILTERS[name]

    got = index.search("part", k=100, filters=f)  # every chunk says "part"

    assert {c.chunk_id for c, _ in got} == {c.chunk_id for c in chunks if allowed(c, f)}


def test_a_document_comes_from_the_index_only_while_the_index_is_current(store: ChromaStore) -> None:
    parts = [Chunk(chunk_id=f"d-{i}", doc_id="d", index=i, text=f"part {i} of the runbook", title="Runbook",
                   kind="wiki", source="d.md") for i in (2, 0, 1)]
    add(store, [*parts, chunk(9, "another page")])
    index = BM25Index(store, version=store.count)
    index.search("runbook", k=5)  # builds the index as of store state 4
    assert [c.chunk_id for c in index.document("d", version=4) or []] == ["d-0", "d-1", "d-2"]
    assert index.document("nope", version=4) == []
    assert index.document("d", version=5) is None  # the store moved on: the caller reads the store instead

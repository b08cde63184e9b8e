"""The VectorStore contract, run against every backend: embedded Chroma and a real ``chroma run`` server.

A new backend (Qdrant, pgvector, ...) is added to ``BACKENDS`` in conftest.py and must pass all of this.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date

import numpy as np
import pytest

from rag.bm25 import allowed
from rag.config import Settings
from rag.embeddings.hashing import HashingEmbedder
from rag.errors import EmbeddingMismatch, StoreError
from rag.stores import open_store
from rag.types import Chunk, Filters, Message

Factory = Callable[..., Settings]
EMB = HashingEmbedder(dim=64)

TOPICS = ["deploy the canary to production", "rotate the vault secrets", "month end invoicing run",
          "pager escalation to the secondary", "terraform state lock", "badge reader on door four",
          "expense receipts within thirty days", "database snapshot restore drill", "vpn drops every hour"]
KINDS = ["wiki", "retro", "thread"]
CHANNELS = [None, "ops", "payments"]
DATES = ["2023-05-01", "2024-01-15", "2024-06-30", None]
ACCESS = [("public",), ("slack:ops-private",), ("hr",), ("hr", "finance")]


def make_chunk(doc: int, index: int, text: str, **extra: object) -> Chunk:
    fields: dict[str, object] = {"chunk_id": f"d{doc}-c{index}", "doc_id": f"d{doc}", "index": index, "text": text,
                                 "title": f"Doc {doc}", "kind": "wiki", "source": f"wiki/d{doc}.md"}
    fields.update(extra)
    return Chunk.model_validate(fields)


def corpus() -> list[Chunk]:
    """27 chunks in 9 documents, every filterable field varied."""
    out = []
    combos = itertools.product(range(9), range(3))
    for n, (doc, index) in enumerate(combos):
        out.append(make_chunk(doc, index, f"{TOPICS[doc]} part {index}: {TOPICS[(doc + index) % 9]}",
                              kind=KINDS[n % 3], channel=CHANNELS[doc % 3], date=DATES[n % 4],
                              access=ACCESS[doc % 4], authors=(f"Author {doc}",), section=f"Part {index}"))
    return out


def vectors(chunks: list[Chunk]) -> np.ndarray:
    return EMB.embed_documents([c.text for c in chunks])


@pytest.fixture
def store_with_corpus(backend_settings: Factory):
    store = open_store(backend_settings(), EMB)
    chunks = corpus()
    store.upsert(chunks, vectors(chunks))
    return store, chunks


def test_a_rich_chunk_round_trips_unchanged(backend_settings: Factory) -> None:
    store = open_store(backend_settings(), EMB)
    chunk = make_chunk(1, 0, "Ann: the VPN drops hourly.\nBob: restart the agent.", kind="thread", channel="it",
                       date="2024-02-03", url="https://chat/x", access=("slack:it", "public"),
                       authors=("Ann Lee", "Bob Stone"), doc_authors=("Ann Lee",), paths=("a.json", "b.json"),
                       section="VPN", content_hash="abc123",
                       messages=(Message(author="Ann Lee", text="the VPN drops hourly", ts="2024-02-03T10:00"),
                                 Message(author="Bob Stone", text="restart the agent")))
    store.upsert([chunk], vectors([chunk]))

    assert store.get(ids=[chunk.chunk_id]) == [chunk]
    assert store.get(doc_id="d1") == [chunk]
    [(found, score)] = store.search(vectors([chunk])[0], k=5)
    assert found == chunk and score == pytest.approx(1.0, abs=1e-4)


def test_upsert_is_idempotent_and_replaces_by_id(backend_settings: Factory) -> None:
    store = open_store(backend_settings(), EMB)
    chunks = corpus()
    store.upsert(chunks, vectors(chunks))
    store.upsert(chunks, vectors(chunks))
    assert store.count() == len(chunks)

    changed = chunks[4].model_copy(update={"text": "a rewritten passage about the badge reader"})
    store.upsert([changed], vectors([changed]))

    assert store.count() == len(chunks)
    assert store.get(ids=[changed.chunk_id])[0].text == "a rewritten passage about the badge reader"
    assert store.search(vectors([changed])[0], k=1)[0][0].chunk_id == changed.chunk_id


def test_upsert_needs_one_vector_per_chunk(backend_settings: Factory) -> None:
    store = open_store(backend_settings(), EMB)
    chunks = corpus()[:3]
    with pytest.raises(ValueError, match="3 chunks but 2 vectors"):
        store.upsert(chunks, vectors(chunks)[:2])
    assert store.count() == 0


def test_delete_document_spares_kept_chunks_and_other_documents(store_with_corpus) -> None:
    store, chunks = store_with_corpus

    assert store.delete_document("d2", keep={"d2-c1"}) == 2
    assert [c.chunk_id for c in store.get(doc_id="d2")] == ["d2-c1"]
    assert store.count() == len(chunks) - 2
    assert [c.chunk_id for c in store.get(doc_id="d3")] == ["d3-c0", "d3-c1", "d3-c2"]

    assert store.delete_document("d2") == 1
    assert store.get(doc_id="d2") == []
    assert store.delete_document("no-such-doc") == 0
    assert store.count() == len(chunks) - 3


def test_search_ranks_by_cosine_like_brute_force(store_with_corpus) -> None:
    store, chunks = store_with_corpus
    matrix = vectors(chunks)
    for query in ("vault secrets rotation", "invoicing at month end", "canary deploy part 2"):
        qv = EMB.embed_query(query)
        got = store.search(qv, k=5)
        expected = np.sort(matrix @ qv)[::-1][:5]
        scores = [s for _, s in got]
        assert len(got) == 5
        assert scores == sorted(scores, reverse=True)
        assert np.allclose(scores, expected, atol=1e-4), (query, scores, expected)
        for chunk, score in got:
            assert score == pytest.approx(float(matrix[chunks.index(chunk)] @ qv), abs=1e-4)


def test_search_with_k_beyond_the_store_returns_everything_once(store_with_corpus) -> None:
    store, chunks = store_with_corpus
    got = store.search(EMB.embed_query("anything"), k=500)
    assert sorted(c.chunk_id for c, _ in got) == sorted(c.chunk_id for c in chunks)
    assert store.search(EMB.embed_query("anything"), k=0) == []


def test_search_of_an_empty_store_is_empty(backend_settings: Factory) -> None:
    store = open_store(backend_settings(), EMB)
    assert store.search(EMB.embed_query("anything"), k=8) == []
    assert store.count() == 0 and list(store.iter_chunks()) == []


FILTERS = {
    "kind": Filters(kind=("retro",)),
    "kinds": Filters(kind=("wiki", "thread")),
    "channel": Filters(channel=("ops",)),
    "date-from": Filters(date_from=date(2024, 1, 15)),
    "date-to": Filters(date_to=date(2024, 1, 15)),
    "date-range": Filters(date_from=date(2024, 1, 1), date_to=date(2024, 3, 1)),
    "groups-none": Filters(groups=()),
    "groups-hr": Filters(groups=("hr",)),
    "groups-two": Filters(groups=("slack:ops-private", "finance")),
    "combined": Filters(kind=("wiki", "retro"), channel=("ops", "payments"), date_to=date(2024, 6, 30),
                        groups=("hr",)),
    "empty": Filters(),
}


@pytest.mark.parametrize("name", FILTERS)
def test_filters_apply_inside_the_search_with_bm25_semantics(store_with_corpus, name: str) -> None:
    store, chunks = store_with_corpus
    f = FILTERS[name]
    expected = {c.chunk_id for c in chunks if allowed(c, f)}
    assert expected, "each filter must select something"

    got = store.search(EMB.embed_query("deploy secrets invoicing"), k=100, filters=f)
    paged = list(store.iter_chunks(f, batch=4))

    assert {c.chunk_id for c, _ in got} == expected
    assert {c.chunk_id for c in paged} == expected and len(paged) == len(expected)
    assert all(allowed(c, f) for c, _ in got)


@pytest.mark.parametrize("name", FILTERS)
def test_filtered_top_k_is_the_cosine_top_k_of_the_allowed_chunks(store_with_corpus, name: str) -> None:
    store, chunks = store_with_corpus
    f = FILTERS[name]
    qv = EMB.embed_query("rotate vault secrets before the canary deploy")
    allowed_chunks = [c for c in chunks if allowed(c, f)]
    expected = sorted((float(vectors([c])[0] @ qv) for c in allowed_chunks), reverse=True)[:5]

    got = store.search(qv, k=5, filters=f)

    assert all(allowed(c, f) for c, _ in got)
    assert [s for _, s in got] == pytest.approx(expected, abs=1e-4)


def test_filtered_search_keeps_the_cosine_order(store_with_corpus) -> None:
    store, chunks = store_with_corpus
    qv = EMB.embed_query("pager escalation secondary")
    f = Filters(groups=("hr",))
    got = store.search(qv, k=3, filters=f)
    allowed_chunks = [c for c in chunks if allowed(c, f)]
    best = sorted(allowed_chunks, key=lambda c: -float(vectors([c])[0] @ qv))[:3]
    assert [s for _, s in got] == pytest.approx([float(vectors([c])[0] @ qv) for c in best], abs=1e-4)


def test_get_by_document_in_order_and_by_ids_leaving_out_unknown(store_with_corpus) -> None:
    store, chunks = store_with_corpus
    assert [c.index for c in store.get(doc_id="d5")] == [0, 1, 2]
    assert store.get(doc_id="nope") == []
    got = store.get(ids=["d1-c2", "missing", "d7-c0"])
    assert sorted(c.chunk_id for c in got) == ["d1-c2", "d7-c0"]
    assert store.get(ids=[]) == []


def test_iter_chunks_pages_through_everything_once(store_with_corpus) -> None:
    store, chunks = store_with_corpus
    for batch in (1, 5, 27, 1000):
        ids = [c.chunk_id for c in store.iter_chunks(batch=batch)]
        assert sorted(ids) == sorted(c.chunk_id for c in chunks), batch


def test_count_follows_writes_and_deletes(backend_settings: Factory) -> None:
    store = open_store(backend_settings(), EMB)
    chunks = corpus()
    assert store.count() == 0
    store.upsert(chunks[:10], vectors(chunks[:10]))
    assert store.count() == 10
    store.upsert(chunks, vectors(chunks))
    assert store.count() == 27
    store.delete_document("d0")
    assert store.count() == 24


def test_vectors_come_back_as_stored_and_unknown_ids_are_left_out(store_with_corpus) -> None:
    store, chunks = store_with_corpus
    got = store.vectors(["d3-c1", "d8-c2", "missing"])
    assert set(got) == {"d3-c1", "d8-c2"}
    for cid, vec in got.items():
        original = vectors([next(c for c in chunks if c.chunk_id == cid)])[0]
        assert vec.dtype == np.float32 and np.allclose(vec, original, atol=1e-6)
    assert store.vectors([]) == {}


def test_lookups_and_deletes_of_more_ids_than_sqlite_binds_at_once(backend_settings: Factory) -> None:
    # One document of a 25 MB single-line text has more chunks than SQLite's 32,766 variables per statement.
    store = open_store(backend_settings(), EMB)
    chunks = [make_chunk(1, i, f"passage {i} about {TOPICS[i % 9]}") for i in range(1200)]
    store.upsert(chunks, vectors(chunks))
    ids = [f"d1-c{i}" for i in range(40_000)]  # mostly unknown: only the first 1,200 exist

    assert len(store.vectors(ids)) == 1200
    assert len(store.get(ids=ids)) == 1200
    assert store.delete_document("d1", keep=set(ids[:100])) == 1100
    assert store.count() == 100


def test_a_reopened_store_holds_the_same_chunks(store_with_corpus, backend_settings: Factory) -> None:
    store, chunks = store_with_corpus
    again = open_store(backend_settings(), EMB, create=False)
    assert again.count() == len(chunks)
    assert again.get(ids=["d4-c1"]) == store.get(ids=["d4-c1"])


class OtherModel(HashingEmbedder):
    """A different (real) embedder: same vectors' shape, another model name."""

    name = "hashing-other"


def test_opening_with_another_embedder_is_an_embedding_mismatch(store_with_corpus, backend_settings: Factory) -> None:
    with pytest.raises(EmbeddingMismatch, match="hashing-v1.*hashing-other.*WHOKNOWS_EMBEDDER"):
        open_store(backend_settings(), OtherModel(dim=64), create=False)
    with pytest.raises(EmbeddingMismatch, match="64 dims.*32 dims"):
        open_store(backend_settings(), HashingEmbedder(dim=32))


def test_vectors_of_the_wrong_size_are_an_embedding_mismatch(store_with_corpus) -> None:
    store, chunks = store_with_corpus
    with pytest.raises(EmbeddingMismatch, match="64-dim"):
        store.upsert(chunks[:1], np.ones((1, 32), dtype=np.float32))
    with pytest.raises(EmbeddingMismatch, match="64-dim"):
        store.search(np.ones(32, dtype=np.float32), k=3)
    assert store.count() == len(chunks)


def test_opening_a_store_that_was_never_built_is_a_store_error(backend_settings: Factory) -> None:
    with pytest.raises(StoreError, match="whoknows ingest"):
        open_store(backend_settings(), EMB, create=False)

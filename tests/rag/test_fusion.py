"""Fusion functions on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from rag.errors import BadInput
from rag.fusion import adaptive_weight, convex, fuse, identifiers, minmax, parse_fusion, rrf, zscore
from rag.types import Chunk, Fusion

DENSE = {"a": 0.9, "b": 0.7, "c": 0.5}  # best first, as the runs come
BM25 = {"c": 12.0, "d": 6.0, "a": 3.0}


def test_rrf_weights_reciprocal_ranks():
    got = rrf(DENSE, BM25, weight=0.75, k=10)
    # a: dense rank 1, BM25 rank 3; c: dense rank 3, BM25 rank 1; b, d in one run only
    assert got["a"] == pytest.approx(0.75 / 11 + 0.25 / 13)
    assert got["c"] == pytest.approx(0.75 / 13 + 0.25 / 11)
    assert got["b"] == pytest.approx(0.75 / 12)
    assert got["d"] == pytest.approx(0.25 / 12)
    assert max(got, key=got.__getitem__) == "a"
    # with BM25 trusted more, its first hit wins
    flipped = rrf(DENSE, BM25, weight=0.25, k=10)
    assert max(flipped, key=flipped.__getitem__) == "c"


def test_minmax_maps_onto_unit_interval():
    assert minmax(DENSE) == pytest.approx({"a": 1.0, "b": 0.5, "c": 0.0})
    assert minmax(BM25) == pytest.approx({"c": 1.0, "d": 3 / 9, "a": 0.0})
    assert minmax({"x": 2.0, "y": 2.0}) == {"x": 1.0, "y": 1.0}
    assert minmax({}) == {}


def test_zscore_uses_population_deviation():
    # mean 0.7, population sd sqrt((0.04 + 0 + 0.04) / 3)
    sd = math.sqrt(0.08 / 3)
    assert zscore(DENSE) == pytest.approx({"a": 0.2 / sd, "b": 0.0, "c": -0.2 / sd})
    assert zscore({"x": 1.0, "y": 1.0}) == {"x": 0.0, "y": 0.0}


def test_convex_minmax_hand_computed():
    got = convex(DENSE, BM25, weight=0.6, norm="minmax")
    # b is not in the BM25 run and d not in the dense run: each gets that run's minimum (0)
    assert got == pytest.approx({"a": 0.6 * 1.0 + 0.4 * 0.0, "b": 0.6 * 0.5, "c": 0.4 * 1.0, "d": 0.4 / 3})
    assert sorted(got, key=lambda d: -got[d]) == ["a", "c", "b", "d"]


def test_convex_zscore_missing_gets_run_minimum():
    got = convex(DENSE, BM25, weight=0.5, norm="zscore")
    zd, zb = zscore(DENSE), zscore(BM25)
    assert got["b"] == pytest.approx(0.5 * zd["b"] + 0.5 * min(zb.values()))
    assert got["d"] == pytest.approx(0.5 * min(zd.values()) + 0.5 * zb["d"])
    # a: 0.5 * 1.225 + 0.5 * -1.069 = 0.078 beats c: 0.5 * -1.225 + 0.5 * 1.336 = 0.056, narrowly
    assert sorted(got, key=lambda d: -got[d])[:2] == ["a", "c"]
    # a little more trust in BM25 and its outlier wins: c = 0.4 * -1.225 + 0.6 * 1.336 = 0.312
    tilted = convex(DENSE, BM25, weight=0.4, norm="zscore")
    assert max(tilted, key=tilted.__getitem__) == "c"
    assert tilted["c"] == pytest.approx(0.4 * zd["c"] + 0.6 * zb["c"])


def test_convex_extremes_are_the_single_rankers():
    only_dense = convex(DENSE, BM25, weight=1.0, norm="minmax")
    only_bm25 = convex(DENSE, BM25, weight=0.0, norm="minmax")
    assert sorted(DENSE, key=lambda d: -only_dense[d]) == list(DENSE)
    assert sorted(BM25, key=lambda d: -only_bm25[d]) == list(BM25)


def test_identifiers_found_and_words_ignored():
    ids = identifiers("Why does kubectl fail with E1234 after upgrading to v1.27.3 with --force on /etc/kube/config?")
    assert {"e1234", "v1.27.3", "--force", "/etc/kube/config"} <= set(ids)
    assert identifiers("How do I deploy a service to production?") == []
    assert identifiers("Is the 90-day rotation due on my MacBook, iOS and WireGuard?") == []
    assert identifiers("Pods in CrashLoopBackOff after OOMKilled in eu-west-1") == ["crashloopbackoff", "oomkilled",
                                                                                      "eu-west-1"]


def test_adaptive_weight_moves_by_signal():
    # an identifier of the query in BM25's top hit: one step towards BM25
    assert adaptive_weight("error E1234 on login", base=0.5, bm25_scores=[9.0, 4.0],
                           bm25_top_text="Login fails with E1234 when the error cache is cold") == pytest.approx(0.3)
    # BM25's top hit holds one of the query's four terms: one step towards dense
    assert adaptive_weight("rotate twilio token quarterly", base=0.5, bm25_scores=[9.0, 4.0],
                           bm25_top_text="The quarterly report") == pytest.approx(0.7)
    # flat BM25 scores as well: two steps
    assert adaptive_weight("rotate twilio token quarterly", base=0.5, bm25_scores=[5.0, 5.0, 4.9, 4.8, 4.7],
                           bm25_top_text="The quarterly report") == pytest.approx(0.9)
    # clamped, and no BM25 run leaves the base
    assert adaptive_weight("rotate twilio token quarterly", base=0.9, bm25_scores=[5.0] * 5,
                           bm25_top_text="x") == pytest.approx(0.95)
    assert adaptive_weight("anything", base=0.4, bm25_scores=[], bm25_top_text="") == 0.4


def test_fuse_dispatches_on_method():
    assert fuse(DENSE, BM25, fusion=Fusion(method="rrf", weight=0.75, rrf_k=10)) == rrf(DENSE, BM25, weight=0.75, k=10)
    assert fuse(DENSE, BM25, fusion=Fusion(method="minmax", weight=0.6)) == convex(DENSE, BM25, weight=0.6)
    assert fuse(DENSE, BM25, fusion=Fusion(method="zscore", weight=0.6)) == convex(DENSE, BM25, weight=0.6,
                                                                                     norm="zscore")


def test_parse_fusion():
    assert parse_fusion("zscore:0.6") == Fusion(method="zscore", weight=0.6)
    assert parse_fusion("rrf") == Fusion(method="rrf", weight=0.5)
    assert parse_fusion("minmax:0.3", rrf_k=20).rrf_k == 20
    for bad in ("cosine", "zscore:x", "rrf:1.5"):
        with pytest.raises(BadInput):
            parse_fusion(bad)


def _chunk(cid: str, doc: str) -> Chunk:
    return Chunk(chunk_id=cid, doc_id=doc, index=0, text=f"text of {cid}", title=doc, kind="wiki", source=doc)


def test_retriever_fuse_groups_per_document_and_reports_rrf_scale():
    from rag.retrieval import HybridRetriever

    retriever = HybridRetriever.__new__(HybridRetriever)  # fuse() reads only these two attributes
    retriever.fusion, retriever.max_per_doc = Fusion(method="minmax", weight=0.5), 1
    dense = [(_chunk("a1", "A"), 0.9), (_chunk("a2", "A"), 0.85), (_chunk("b1", "B"), 0.5)]
    lexical = [(_chunk("b1", "B"), 9.0), (_chunk("c1", "C"), 1.0)]
    hits = retriever.fuse("q", dense=dense, lexical=lexical, k=5)
    # minmax 0.5/0.5: b1 = 0.5 * 0 + 0.5 * 1 = 0.5, a1 = 0.5 * 1 + 0.5 * 0 = 0.5 (dense first on ties),
    # a2 = 0.5 * 0.875 (dropped: one chunk per document), c1 = 0
    assert [h.chunk.chunk_id for h in hits] == ["a1", "b1", "c1"]
    assert hits[1].dense_rank == 3 and hits[1].bm25_rank == 1
    assert [h.score for h in hits] == pytest.approx([2 / 61, 2 / 62, 2 / 64])
    rrf_hits = retriever.fuse("q", dense=dense, lexical=lexical, k=5, fusion=Fusion(method="rrf", weight=0.5))
    assert rrf_hits[0].chunk.chunk_id == "b1"  # in both runs
    assert rrf_hits[0].score == pytest.approx(1 / 63 + 1 / 61)  # today's 1:1 RRF value

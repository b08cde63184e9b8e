"""Hybrid retrieval: dense search in the vector store plus BM25 over the same chunks, fused (``rag.fusion``:
weighted RRF or a convex combination of normalised scores, weight chosen per corpus by ``rag.tune``), then
grouped so one long document cannot crowd out the rest."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.embeddings.base import Embedder
from rag.fusion import fuse
from rag.stores.base import LexicalIndex, VectorStore
from rag.text import embed_text
from rag.types import Chunk, Filters, Fusion, Hit


@dataclass
class Retrieved:
    """Hits after fusion and grouping, plus the raw runs (for abstention signals and evaluation)."""

    hits: list[Hit]
    dense: list[tuple[Chunk, float]]
    bm25: list[tuple[Chunk, float]]
    query_vector: np.ndarray


class HybridRetriever:
    """Dense + BM25, fused; filters apply inside both searches."""

    def __init__(self, *, store: VectorStore, embedder: Embedder, bm25: LexicalIndex,
                 fusion: Fusion | None = None, candidates: int = 40, max_per_doc: int = 2) -> None:
        self.store, self.embedder, self.bm25 = store, embedder, bm25
        self.fusion = fusion or Fusion()
        self.candidates = candidates
        self.max_per_doc = max_per_doc

    def retrieve(self, query: str, *, k: int = 8, filters: Filters | None = None,
                 mode: str = "hybrid") -> Retrieved:
        """Top ``k`` chunks for ``query``. ``mode`` is 'hybrid', 'dense' or 'bm25' (baselines)."""
        qv = self.embedder.embed_query(query)
        dense = self.store.search(qv, k=self.candidates, filters=filters) if mode != "bm25" else []
        lexical = self.bm25.search(query, k=self.candidates, filters=filters) if mode != "dense" else []
        # Equal scores in chunk-id order: ties (the same text in two files, BM25's equal term counts) came in
        # the order chunks were ingested, which varies between builds of one corpus - and with it the
        # abstention signals that read these lists (dense/BM25 agreement on the top document).
        dense = sorted(dense, key=lambda cs: (-cs[1], cs[0].chunk_id))
        lexical = sorted(lexical, key=lambda cs: (-cs[1], cs[0].chunk_id))
        hits = self.fuse(query, dense=dense, lexical=lexical, k=k)
        return Retrieved(hits=hits, dense=dense, bm25=lexical, query_vector=qv)

    def fuse(self, query: str, *, dense: list[tuple[Chunk, float]], lexical: list[tuple[Chunk, float]], k: int,
             fusion: Fusion | None = None) -> list[Hit]:
        """The runs fused by ``fusion`` (default: this retriever's) and grouped per document.

        Score-based fusions report their order on the RRF scale (``2 / (rrf_k + rank)``), so what reads
        ``Hit.score`` (expert relevance, ``/search``) sees the same range whatever the fusion."""
        f = fusion or self.fusion
        entries: dict[str, dict] = {}
        for rank, (chunk, score) in enumerate(dense, start=1):
            entries[chunk.chunk_id] = {"chunk": chunk, "dense_rank": rank, "dense_score": score}
        for rank, (chunk, score) in enumerate(lexical, start=1):
            e = entries.setdefault(chunk.chunk_id, {"chunk": chunk})
            e["bm25_rank"], e["bm25_score"] = rank, score
        fused = fuse({c.chunk_id: s for c, s in dense}, {c.chunk_id: s for c, s in lexical}, fusion=f,
                     query=query, bm25_top_text=embed_text(lexical[0][0]) if lexical else "")
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))
        hits: list[Hit] = []
        per_doc: dict[str, int] = {}
        for rank, cid in enumerate(order, start=1):
            e = entries[cid]
            doc = e["chunk"].doc_id
            if per_doc.get(doc, 0) >= self.max_per_doc:
                continue
            per_doc[doc] = per_doc.get(doc, 0) + 1
            score = 2 * fused[cid] if f.method == "rrf" else 2 / (f.rrf_k + rank)
            hits.append(Hit(score=score, **e))
            if len(hits) >= k:
                break
        return hits


def ranked_doc_ids(hits: list[Hit]) -> list[str]:
    """Distinct document ids in hit order."""
    return list(dict.fromkeys(h.chunk.doc_id for h in hits))

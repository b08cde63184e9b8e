"""Baselines scored in the same run as whoknows: BM25 alone, and plain llama-index dense retrieval
(``VectorStoreIndex.from_vector_store(...).as_retriever()``, what most users build first) over the
same Chroma collection and the same embedding model."""

from __future__ import annotations

from typing import Any

from rag.embeddings.base import Embedder
from rag.engine import QueryEngine


def llama_embedding(embedder: Embedder) -> Any:
    """Our embedder as a llama-index ``BaseEmbedding`` (batched like ours: 32 texts per call)."""
    from llama_index.core.embeddings import BaseEmbedding

    class _Adapter(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.embed_query(query).tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.embed_documents([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return _Adapter(model_name=embedder.name, embed_batch_size=32)


def llama_index_dense(engine: QueryEngine, *, top_k: int = 10) -> Any:
    """A default llama-index retriever over our collection (top_k raised from 2 so recall@10 is defined).

    None for a store that is not Chroma (the baseline is llama-index's Chroma adapter; it then ranks nothing)."""
    from rag.stores.chroma import ChromaStore

    if not isinstance(engine.store, ChromaStore):
        return None
    from llama_index.core import VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    store = ChromaVectorStore(chroma_collection=engine.store.collection)
    index = VectorStoreIndex.from_vector_store(store, embed_model=llama_embedding(engine.embedder))
    return index.as_retriever(similarity_top_k=top_k)


def llama_index_doc_ranking(retriever: Any, question: str) -> list[tuple[str, ...]]:
    """Distinct documents (as their source paths) in the order the llama-index retriever returns them."""
    import json

    if retriever is None:
        return []

    out: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for n in retriever.retrieve(question):
        meta = n.node.metadata
        doc = meta.get("doc_id", n.node.node_id)
        if doc in seen:
            continue
        seen.add(doc)
        paths = tuple(json.loads(meta.get("paths") or "[]")) or (meta.get("source", ""),)
        out.append(paths)
    return out

"""Ingest benchmark: the full pipeline against its floor and against plain llama-index, in one run.

- floor: raw sentence-transformers ``encode`` of exactly the texts the pipeline embedded (the stored chunks,
  title and section included), same model and batch size - measured before and after the pipeline run.
- pipeline: ``ingest()`` into a fresh store - discovery, loaders (unstructured for HTML/DOCX/PDF/TXT), git
  authorship, de-duplication, chunking, embedding, Chroma writes and the ledger.
- llama-index: ``SimpleDirectoryReader(corpus, recursive=True)`` then ``VectorStoreIndex.from_documents`` into a
  Chroma collection with the same embedder, ``SentenceSplitter(chunk_size=200, chunk_overlap=30)``.
- re-ingest: the same ``ingest()`` again on the unchanged corpus.
- cold first run: the very first ``ingest()`` of the process (imports, file cache), into a separate store.

The model is loaded once before anything is timed, so no figure includes loading it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from eval.baselines import llama_embedding
from ingest.pipeline import ingest
from rag.config import Settings
from rag.embeddings import make_embedder
from rag.embeddings.minilm import packaged_model_path
from rag.stores import open_store
from rag.text import embed_text


def bench_ingest(corpus: Path) -> dict[str, Any]:
    """Chunks/s of the pipeline, the encode floor and llama-index on ``corpus``; the unchanged re-ingest share."""
    from sentence_transformers import SentenceTransformer

    with tempfile.TemporaryDirectory(prefix="whoknows-bench-") as tmp:
        settings = Settings(embedder="minilm", data_dir=Path(tmp) / "whoknows")
        embedder = make_embedder(settings)
        embedder.embed_documents(["warm-up"])
        raw = SentenceTransformer(str(packaged_model_path()), device="cpu", local_files_only=True)
        raw.encode(["warm-up"])

        # A first, cold run (imports of unstructured & co., the OS file cache) into its own store; it also
        # tells which texts the pipeline embeds. The compared run is the second, warm one.
        probe = Settings(embedder="minilm", data_dir=Path(tmp) / "probe")
        t0 = time.perf_counter()
        cold = ingest(corpus, probe)
        t_cold = time.perf_counter() - t0
        texts = [embed_text(c) for c in open_store(probe, embedder, create=False).iter_chunks()]

        def floor() -> float:
            t0 = time.perf_counter()
            raw.encode(texts, batch_size=settings.embed_batch_size, normalize_embeddings=True,
                       show_progress_bar=False)
            return time.perf_counter() - t0

        floor_before = floor()
        t0 = time.perf_counter()
        full = ingest(corpus, settings)
        t_full = time.perf_counter() - t0
        floor_after = floor()
        t0 = time.perf_counter()
        again = ingest(corpus, settings)
        t_again = time.perf_counter() - t0
        t_li, li_nodes = _llama_index(corpus, embedder, Path(tmp) / "llama")

    t_floor = (floor_before + floor_after) / 2
    n = len(texts)
    return {
        "what": "ingest", "corpus": str(corpus), "documents": full.documents, "chunks": full.chunks,
        "embedded": full.embedded, "failed": len(full.failed),
        "floor_encode": {"seconds": round(t_floor, 2), "chunks_per_s": round(n / t_floor, 2),
                         "runs_s": [round(floor_before, 2), round(floor_after, 2)]},
        "pipeline": {"seconds": round(t_full, 2), "chunks_per_s": round(full.chunks / t_full, 2)},
        "pipeline_cold_first_run": {"seconds": round(t_cold, 2), "chunks_per_s": round(cold.chunks / t_cold, 2)},
        "llama_index": {"seconds": round(t_li, 2), "nodes": li_nodes, "nodes_per_s": round(li_nodes / t_li, 2)},
        "reingest_unchanged": {"seconds": round(t_again, 3), "embedded": again.embedded,
                               "share_of_full": round(t_again / t_full, 4)},
        "overhead_vs_floor": round(t_full / t_floor - 1, 4),
        "pipeline_vs_llama_index_time": round(t_full / t_li, 3),
    }


def _llama_index(corpus: Path, embedder: Any, path: Path) -> tuple[float, int]:
    """Plain llama-index on the same folder, same model, same chunk size, into Chroma: (seconds, nodes)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_or_create_collection("llama", metadata={"hnsw:space": "cosine"})
    t0 = time.perf_counter()
    docs = SimpleDirectoryReader(str(corpus), recursive=True).load_data()
    index = VectorStoreIndex.from_documents(
        docs, embed_model=llama_embedding(embedder),
        storage_context=StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection)),
        transformations=[SentenceSplitter(chunk_size=200, chunk_overlap=30)])
    seconds = time.perf_counter() - t0
    del index
    return seconds, collection.count()

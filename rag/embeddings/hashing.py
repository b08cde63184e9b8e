"""A deterministic, model-free embedder: feature hashing of words and word bigrams.

Real ranking signal (shared words -> higher cosine), no model, instant. Used by fast tests and
as a fallback for smoke runs; never the default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from rag.types import stable_hash

_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder:
    """Bag of hashed unigrams and bigrams, L2-normalised."""

    name = "hashing-v1"

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim
        self.max_tokens = 256

    def _vec(self, text: str) -> np.ndarray:
        words = _WORD.findall(text.lower())
        v = np.zeros(self.dim, dtype=np.float32)
        feats = words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]
        for f in feats:
            h = int(stable_hash(f, length=8), 16)
            v[h % self.dim] += 1.0 if (h >> 20) & 1 else -1.0
        n = float(np.linalg.norm(v))
        return v / n if n else v

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed each text independently."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vec(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        """Same as a passage."""
        return self._vec(text)

    def count_tokens(self, text: str) -> int:
        """Approximate word pieces as 1.3 per word."""
        return int(len(_WORD.findall(text.lower())) * 1.3) + 1

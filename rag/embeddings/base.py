"""The embedder seam."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Turns text into unit-length vectors. Queries and documents may embed differently."""

    @property
    def name(self) -> str:
        """Identifies the model; the store refuses vectors from another model."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages; returns a float32 array of shape (len(texts), dim), rows L2-normalised."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query; returns a float32 vector of shape (dim,), L2-normalised."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` (used to size chunks to the model's window)."""
        ...

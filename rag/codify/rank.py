"""Drafts rank below reviewed pages: a page written by ``whoknows codify`` and not reviewed yet (it still
carries the draft banner, :func:`rag.codify.render.is_draft`) keeps :data:`DRAFT_WEIGHT` of its fused score.

With reciprocal-rank fusion that puts a draft below every reviewed passage retrieved near it, while a draft
that is the only evidence still answers (and is cited as the draft it is).
"""

from __future__ import annotations

from collections.abc import Iterable

from rag.codify.render import is_draft
from rag.types import Chunk, Hit

DRAFT_WEIGHT = 0.5


def draft_docs(chunks: Iterable[Chunk]) -> frozenset[str]:
    """Doc ids of the unreviewed drafts among ``chunks`` (the banner is in a draft's first chunk)."""
    return frozenset(c.doc_id for c in chunks if c.kind != "thread" and is_draft(c.text))


def drafts_last(hits: list[Hit], drafts: frozenset[str]) -> list[Hit]:
    """``hits`` with every draft's score scaled by :data:`DRAFT_WEIGHT`, re-ranked (stable)."""
    if not drafts or not any(h.chunk.doc_id in drafts for h in hits):
        return hits
    scaled = [h.model_copy(update={"score": h.score * DRAFT_WEIGHT}) if h.chunk.doc_id in drafts else h
              for h in hits]
    return sorted(scaled, key=lambda h: -h.score)

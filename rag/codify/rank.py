"""Drafts rank below reviewed pages: a page written by ``whoknows codify`` and not reviewed yet (it still
carries the draft banner, :func:`rag.codify.render.is_draft`) keeps :data:`DRAFT_WEIGHT` of its fused score.

With reciprocal-rank fusion that puts a draft below every reviewed passage retrieved near it, while a draft
that is the only evidence still answers (and is cited as the draft it is).
"""

from __future__ import annotations

from rag.codify.render import DRAFT_MARK
from rag.stores.base import LexicalIndex
from rag.types import Hit

DRAFT_WEIGHT = 0.5


def draft_docs(index: LexicalIndex) -> frozenset[str]:
    """Doc ids of the unreviewed drafts in the store behind ``index`` (pages that still carry the banner)."""
    return index.docs_with_text(DRAFT_MARK, exclude_kind="thread")


def drafts_last(hits: list[Hit], drafts: frozenset[str]) -> list[Hit]:
    """``hits`` with every draft's score scaled by :data:`DRAFT_WEIGHT`, re-ranked (stable)."""
    if not drafts or not any(h.chunk.doc_id in drafts for h in hits):
        return hits
    scaled = [h.model_copy(update={"score": h.score * DRAFT_WEIGHT}) if h.chunk.doc_id in drafts else h
              for h in hits]
    return sorted(scaled, key=lambda h: -h.score)

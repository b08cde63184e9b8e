"""Codification drafts: the answer that lives only in chat, written down as a draft wiki page.

- :mod:`rag.codify.draft` finds the threads for a topic or thread id and lifts out the question, the
  attributed answer quotes, the steps and what to confirm;
- :mod:`rag.codify.render` writes the Markdown page (``kind: wiki``, ``status: draft``);
- :mod:`rag.codify.rank` ranks an ingested draft below reviewed pages (the engine imports it, so this
  package imports the engine only inside :func:`codify`).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from rag.codify.types import CodifyDraft, DraftQuote, DraftSource, DraftStep

if TYPE_CHECKING:
    from rag.engine import QueryEngine


def codify(engine: QueryEngine, target: str, *, groups: tuple[str, ...] | None = None,
           today: date | None = None) -> CodifyDraft:
    """The draft for ``target`` (a gap-report topic, words, or a thread doc id) from what ``groups`` may read."""
    from rag.codify.draft import build_draft
    from rag.codify.render import render

    draft = build_draft(engine, target, groups=groups)
    return draft.model_copy(update={"markdown": render(draft, today=today)})


__all__ = ["CodifyDraft", "DraftQuote", "DraftSource", "DraftStep", "codify"]

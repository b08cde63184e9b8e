"""Domain types of codification drafts (frozen; beside the feature, like :mod:`rag.profiles.types`)."""

from __future__ import annotations

from pydantic import Field

from rag.types import Frozen


class DraftQuote(Frozen):
    """A message quoted in a draft, with who wrote it and a link back to it."""

    author: str
    text: str
    link: str = Field(description="The message in its source: '<file>#<message id>' or the thread's URL.")
    doc_id: str
    message_id: str | None = None
    ts: str | None = None
    context: DraftQuote | None = Field(default=None, description="The follow-up question it answers, if any.")


class DraftStep(Frozen):
    """One step of a fix, in the order the thread gave it."""

    n: int
    text: str
    author: str
    link: str


class DraftSource(Frozen):
    """A thread a draft is drawn from."""

    doc_id: str
    title: str
    source: str
    url: str | None = None
    channel: str | None = None
    date: str | None = None


class CodifyDraft(Frozen):
    """A Markdown draft page written from chat: its parts and the whole text (``markdown``)."""

    topic: str = Field(description="What was asked for: a gap-report topic, words, or a thread id.")
    title: str
    status: str = "draft"
    authors: tuple[str, ...] = Field(default=(), description="People whose messages carry the answer.")
    sources: tuple[DraftSource, ...] = ()
    question: tuple[DraftQuote, ...] = Field(default=(), description="The question as people asked it.")
    asked: tuple[str, ...] = Field(default=(), description="The same question as asked of whoknows (query log).")
    answer: tuple[DraftQuote, ...] = ()
    steps: tuple[DraftStep, ...] = ()
    to_confirm: tuple[str, ...] = ()
    markdown: str = ""

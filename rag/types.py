"""Domain types shared by every layer. Frozen pydantic models; ids are stable hashes."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["wiki", "retro", "thread"]


def stable_hash(*parts: str, length: int = 16) -> str:
    """Hex digest of the parts joined by NUL; the basis of every id in whoknows."""
    h = hashlib.sha256("\x00".join(parts).encode("utf-8"))
    return h.hexdigest()[:length]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Person(Frozen):
    """A colleague from the people directory (or seen only as an author)."""

    name: str
    aliases: tuple[str, ...] = ()
    email: str | None = None
    team: str | None = None
    active: bool | None = None


class Message(Frozen):
    """One message of a thread, credited to the person who wrote it."""

    author: str
    text: str
    ts: str | None = None


class Document(Frozen):
    """One unit of knowledge: a wiki page, a retro note, or a whole thread."""

    doc_id: str
    source: str = Field(description="Primary source id: path relative to the corpus root, '#anchor' for threads.")
    paths: tuple[str, ...] = Field(default=(), description="Every source id holding this same content.")
    title: str
    kind: Kind
    format: str
    url: str | None = None
    authors: tuple[str, ...] = Field(default=(), description="Ranked, main contributor first.")
    date: str | None = Field(default=None, description="ISO date: last edit, or a thread's first message.")
    channel: str | None = None
    tags: tuple[str, ...] = ()
    access: tuple[str, ...] = ("public",)
    text: str = Field(default="", description="Body as Markdown-ish text (headings as '#').")
    line_authors: tuple[str, ...] = Field(default=(), description="Per body line, who wrote it (git blame).")
    messages: tuple[Message, ...] = ()

    @property
    def content_hash(self) -> str:
        """Hash of everything that changes what is stored for this document."""
        parts = [self.title, self.kind, self.text, "|".join(self.authors), self.date or "", self.url or "",
                 self.channel or "", "|".join(self.access), "|".join(self.tags), "|".join(self.line_authors)]
        parts += [f"{m.author}\x01{m.ts}\x01{m.text}" for m in self.messages]
        return stable_hash(*parts, length=24)


class Chunk(Frozen):
    """A retrievable passage of a document, with the people who wrote *these* lines."""

    chunk_id: str
    doc_id: str
    index: int
    text: str
    section: str = ""
    authors: tuple[str, ...] = ()
    messages: tuple[Message, ...] = ()
    # Copied from the document so a hit is self-describing.
    title: str
    kind: Kind
    source: str
    paths: tuple[str, ...] = ()
    url: str | None = None
    date: str | None = None
    channel: str | None = None
    access: tuple[str, ...] = ("public",)
    doc_authors: tuple[str, ...] = ()
    content_hash: str = ""


class Filters(Frozen):
    """Metadata filters applied inside every search (dense and BM25 alike)."""

    kind: tuple[Kind, ...] | None = None
    channel: tuple[str, ...] | None = None
    date_from: date | None = None
    date_to: date | None = None
    groups: tuple[str, ...] | None = Field(default=None, description="Caller's groups; None means no ACL check.")


class Hit(Frozen):
    """A chunk found by retrieval with its fused score and the ranks that produced it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    bm25_score: float | None = None


class Citation(Frozen):
    n: int
    doc_id: str
    title: str
    kind: Kind
    source: str
    url: str | None = None
    quote: str
    section: str = ""
    authors: tuple[str, ...] = ()
    date: str | None = None


class Expert(Frozen):
    name: str
    score: float
    team: str | None = None
    active: bool | None = None
    evidence: tuple[str, ...] = Field(default=(), description="Doc ids that earned the score.")
    why: str = ""
    last_seen: str | None = None


class Answer(Frozen):
    question: str
    answer: str
    abstained: bool
    confidence: float
    citations: tuple[Citation, ...] = ()
    experts: tuple[Expert, ...] = ()
    latency_ms: float = 0.0
    question_kind: Literal["question", "who-knows"] = "question"
    question_id: str | None = None

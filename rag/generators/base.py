"""The generator seam: evidence in, answer text with [n] citation markers out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from rag.types import Hit, Message


@dataclass
class Quote:
    """A passage the answer uses, from one hit, with the people who wrote it."""

    hit: Hit
    text: str
    authors: tuple[str, ...]
    score: float = 0.0
    position: int = 0
    message: Message | None = None  # the thread message quoted (a reply to the asker), None for pages
    weight: float = 1.0  # credit weight of that message (rag.threads.answer.credit)


@dataclass
class Draft:
    """A generator's output: the answer text (markers refer to ``quotes`` grouped by document)."""

    text: str
    quotes: list[Quote] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)


class Generator(Protocol):
    """Writes an answer from retrieved evidence."""

    name: str

    def generate(self, question: str, hits: list[Hit], *, max_sentences: int = 4) -> Draft:
        """Answer ``question`` from ``hits``; every claim carries a marker such as [1]."""
        ...

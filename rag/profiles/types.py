"""Domain types of expertise profiles (frozen, like :mod:`rag.types`; kept beside the feature so
``rag/types.py`` stays one readable file)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rag.types import Frozen, Kind

EvidenceRole = Literal["page", "retro", "answered", "posted", "chat"]


class ProfileEvidence(Frozen):
    """One readable document that earned a person credit, and how."""

    doc_id: str
    title: str
    kind: Kind
    source: str
    url: str | None = None
    date: str | None = None
    role: EvidenceRole = Field(description="page/retro: they wrote it (or the lines); answered: they replied to "
                               "the asker of a thread; posted: they wrote a thread's informing post; chat: loose "
                               "chat they took part in.")
    why: str = Field(description="In words: \"wrote 'Deploy process'\", \"answered Ben Carter's question in "
                     "#platform on 2025-10-14\".")
    weight: float = Field(description="Their share of this document's knowledge, summed over its chunks.")
    quoted: int = Field(default=0, description="Logged answers that quoted lines they wrote in it.")


class ProfileTopic(Frozen):
    """A cluster of the chunks a person is credited for, labelled like the gap report's topics."""

    label: str
    terms: tuple[str, ...] = ()
    weight: float = Field(description="Sum of their credit over the topic's chunks (a document counts once).")
    share: float = Field(default=0.0, description="Their part of everyone's credit on the chunks near the topic.")
    strength: float = Field(default=0.0, description="weight x share: how much they are *the* source for it.")
    evidence: tuple[ProfileEvidence, ...] = ()


class PersonSummary(Frozen):
    """A colleague in the people listing: who, which team, how much of the readable knowledge they hold."""

    name: str
    team: str | None = None
    active: bool | None = None
    knowledge: float = Field(description="Sum of their credit over every chunk the caller may read.")
    share: float | None = Field(default=None, description="With a team: their part of the team's knowledge.")
    pages: int = Field(default=0, description="Pages and retros they wrote.")
    answers: int = Field(default=0, description="Threads where they answered someone or wrote the post.")
    topics: tuple[str, ...] = Field(default=(), description="Labels of their strongest topics.")
    last_active: str | None = None


class Profile(PersonSummary):
    """What one colleague knows, with the evidence the caller may read."""

    aliases: tuple[str, ...] = ()
    strongest: tuple[ProfileTopic, ...] = Field(default=(), description="Topics, strongest first.")
    evidence: tuple[ProfileEvidence, ...] = ()
    cited: int = Field(default=0, description="Logged answers that quoted lines they wrote.")
    suggested: int = Field(default=0, description="Logged answers that named them among the people to ask.")

"""The HTTP contract. Separate from domain types: it changes only on purpose."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.types import Answer, Filters


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: list[Literal["wiki", "retro", "thread"]] | Literal["wiki", "retro", "thread"] | None = None
    channel: list[str] | str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def to_domain(self) -> Filters:
        def as_tuple(v: list | str | None) -> tuple | None:
            return None if v is None else tuple([v] if isinstance(v, str) else v)

        return Filters(kind=as_tuple(self.kind), channel=as_tuple(self.channel), date_from=self.date_from,
                       date_to=self.date_to)


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000, description="A question in plain language.")
    k: int | None = Field(default=None, ge=1, le=50, description="How many passages to retrieve.")
    filters: FiltersIn | None = None


class CitationOut(BaseModel):
    n: int
    doc_id: str
    title: str
    kind: str
    source: str
    url: str | None
    quote: str
    section: str
    authors: list[str]
    date: str | None


class ExpertOut(BaseModel):
    name: str
    score: float
    team: str | None
    active: bool | None
    evidence: list[str]
    why: str


class AnswerOut(BaseModel):
    question: str
    answer: str
    abstained: bool
    confidence: float
    citations: list[CitationOut]
    experts: list[ExpertOut]
    latency_ms: float
    question_id: str | None = None

    @classmethod
    def from_domain(cls, a: Answer) -> AnswerOut:
        return cls(
            question=a.question, answer=a.answer, abstained=a.abstained, confidence=a.confidence,
            citations=[CitationOut(**{**c.model_dump(), "authors": list(c.authors)}) for c in a.citations],
            experts=[ExpertOut(name=e.name, score=e.score, team=e.team, active=e.active,
                               evidence=list(e.evidence), why=e.why) for e in a.experts],
            latency_ms=a.latency_ms, question_id=a.question_id,
        )


class SearchHitOut(BaseModel):
    doc_id: str
    chunk_id: str
    title: str
    kind: str
    source: str
    section: str
    text: str
    authors: list[str]
    date: str | None
    score: float


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    kind: str
    source: str
    paths: list[str]
    url: str | None
    authors: list[str]
    date: str | None
    channel: str | None
    text: str


class ErrorOut(BaseModel):
    error: str
    field: str | None = None

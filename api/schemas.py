"""The HTTP contract. Separate from domain types: it changes only on purpose."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from rag.types import Answer, Feedback, Filters, GapReport

if TYPE_CHECKING:  # the domain packages import the engine; the contract needs only their fields
    from rag.codify.types import CodifyDraft
    from rag.profiles.types import PersonSummary


def _json_int(value: object) -> object:
    """A JSON integer (11 or 11.0, as JSON Schema says), never true/false or the string "11"."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON integer")
    return value


def _json_date(value: object) -> object:
    """An ISO date string, never a number (pydantic would read 0 as 1970-01-01)."""
    if value is not None and not isinstance(value, str | date):
        raise ValueError("must be an ISO date string, e.g. '2024-03-01'")
    return value


# Text must hold one character that is not white space (as str.strip() sees it: Python's \s plus the
# separators U+001C-U+001F), so the schema refuses exactly what the engine would call empty.
TEXT_PATTERN = r"[^\s\x1c-\x1f]"


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: list[Literal["wiki", "retro", "thread"]] | Literal["wiki", "retro", "thread"] | None = None
    channel: list[str] | str | None = None
    date_from: date | None = None
    date_to: date | None = None

    # What the OpenAPI schema promises (a date string), and nothing pydantic's lax mode adds to it.
    _dates_are_strings = field_validator("date_from", "date_to", mode="before")(_json_date)

    def to_domain(self) -> Filters:
        def as_tuple(v: list | str | None) -> tuple | None:
            return None if v is None else tuple([v] if isinstance(v, str) else v)

        return Filters(kind=as_tuple(self.kind), channel=as_tuple(self.channel), date_from=self.date_from,
                       date_to=self.date_to)


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000, pattern=TEXT_PATTERN,
                          description="A question in plain language.")
    k: int | None = Field(default=None, ge=1, le=50, description="How many passages to retrieve.")
    filters: FiltersIn | None = None

    _k_is_an_integer = field_validator("k", mode="before")(_json_int)


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


class ErrorDetail(BaseModel):
    field: str = Field(description="Where: 'body.question', 'query.k', ...")
    msg: str


class ErrorOut(BaseModel):
    """The body of every error response (4xx and 5xx): what went wrong and which field to fix."""

    error: str = Field(description="What went wrong, and how to fix it.")
    field: str | None = Field(default=None, description="The offending field ('question', 'k', 'authorization').")
    detail: list[ErrorDetail] | None = Field(default=None, description="422: every problem found, not just the first.")


# -- feedback and the knowledge-gap report ------------------------------------------------------------
class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_id: str = Field(min_length=1, max_length=64, description="The question_id of an /ask response.")
    helpful: StrictBool = Field(description="true: the answer helped; false: it did not (the topic becomes a gap).")
    comment: str | None = Field(default=None, max_length=2000, description="What was missing or wrong.")


class FeedbackOut(BaseModel):
    question_id: str
    helpful: bool
    comment: str | None
    recorded_at: datetime

    @classmethod
    def from_domain(cls, f: Feedback) -> FeedbackOut:
        return cls(question_id=f.question_id, helpful=f.helpful, comment=f.comment, recorded_at=f.at)


class AskedQuestionOut(BaseModel):
    question_id: str
    question: str
    asker: str | None
    asked_at: datetime
    reason: Literal["abstained", "low-confidence", "thumbs-down"] | None


class ColleagueOut(BaseModel):
    name: str
    team: str | None
    active: bool | None
    score: float


class SourceRefOut(BaseModel):
    doc_id: str
    title: str
    kind: str
    source: str
    date: str | None
    authors: list[str]
    citations: int
    askers: int
    last_cited: datetime | None


class TopicOut(BaseModel):
    label: str
    terms: list[str]
    count: int
    askers: list[str]
    first_asked: datetime
    last_asked: datetime
    questions: list[AskedQuestionOut]


class UnansweredTopicOut(TopicOut):
    abstained: int
    low_confidence: int
    thumbs_down: int
    colleagues: list[ColleagueOut]


class ChatOnlyTopicOut(TopicOut):
    threads: list[SourceRefOut]
    answers_citing_pages: int


class SoleTopicOut(TopicOut):
    person: str
    active: bool | None
    documents: list[SourceRefOut]


class SoleDocumentOut(BaseModel):
    document: SourceRefOut
    person: str
    active: bool | None


class InactiveHolderOut(BaseModel):
    person: str
    team: str | None
    documents: list[SourceRefOut]
    topics: list[str]
    citations: int


class SinglePointsOut(BaseModel):
    topics: list[SoleTopicOut]
    documents: list[SoleDocumentOut]
    inactive: list[InactiveHolderOut]


class StaleDocumentOut(BaseModel):
    document: SourceRefOut
    age_days: int


class TrendPointOut(BaseModel):
    week: date
    asked: int
    unanswered: int


class GapReportOut(BaseModel):
    generated_at: datetime
    since: datetime | None
    log_enabled: bool
    questions: int
    unanswered: int
    askers: int
    low_confidence_below: float
    stale_after_days: int
    unanswered_topics: list[UnansweredTopicOut]
    only_in_chat: list[ChatOnlyTopicOut]
    single_points: SinglePointsOut
    stale: list[StaleDocumentOut]
    trend: list[TrendPointOut]

    @classmethod
    def from_domain(cls, r: GapReport) -> GapReportOut:
        return cls.model_validate(r.model_dump())


# -- expertise profiles and codification drafts ---------------------------------------------------------
class ProfileEvidenceOut(BaseModel):
    doc_id: str
    title: str
    kind: str
    source: str
    url: str | None
    date: str | None
    role: Literal["page", "retro", "answered", "posted", "chat"]
    why: str
    weight: float
    quoted: int


class ProfileTopicOut(BaseModel):
    label: str
    terms: list[str]
    weight: float = Field(description="Their credit on the topic's chunks (a document counts once).")
    share: float = Field(description="Their part of everyone's credit on the chunks near the topic.")
    strength: float = Field(description="weight x share; topics are listed strongest first.")
    evidence: list[ProfileEvidenceOut]


class PersonSummaryOut(BaseModel):
    name: str
    team: str | None
    active: bool | None
    knowledge: float = Field(description="Sum of their credit over every chunk the caller may read.")
    share: float | None = Field(description="With ?team=: their part of the team's knowledge.")
    pages: int
    answers: int
    topics: list[str]
    last_active: str | None

    @classmethod
    def from_domain(cls, p: PersonSummary) -> PersonSummaryOut:
        return cls.model_validate(p.model_dump())


class ProfileOut(PersonSummaryOut):
    aliases: list[str]
    strongest: list[ProfileTopicOut]
    evidence: list[ProfileEvidenceOut]
    cited: int = Field(description="Logged answers that quoted lines they wrote.")
    suggested: int = Field(description="Logged answers that named them among the people to ask.")

    @classmethod
    def from_domain(cls, p: PersonSummary) -> ProfileOut:  # a Profile; typed as its base for the override
        return cls.model_validate(p.model_dump())


class CodifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1, max_length=500, pattern=TEXT_PATTERN,
                        description="A gap-report topic, words, or a thread doc id.")


class DraftQuoteOut(BaseModel):
    author: str
    text: str
    link: str
    doc_id: str
    message_id: str | None
    ts: str | None
    context: DraftQuoteOut | None


class DraftStepOut(BaseModel):
    n: int
    text: str
    author: str
    link: str


class DraftSourceOut(BaseModel):
    doc_id: str
    title: str
    source: str
    url: str | None
    channel: str | None
    date: str | None


class CodifyOut(BaseModel):
    topic: str
    title: str
    status: Literal["draft"]
    authors: list[str]
    sources: list[DraftSourceOut]
    question: list[DraftQuoteOut]
    asked: list[str]
    answer: list[DraftQuoteOut]
    steps: list[DraftStepOut]
    to_confirm: list[str]
    markdown: str

    @classmethod
    def from_domain(cls, d: CodifyDraft) -> CodifyOut:
        return cls.model_validate(d.model_dump())

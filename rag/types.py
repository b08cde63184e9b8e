"""Domain types shared by every layer. Frozen pydantic models; ids are stable hashes."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
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


Role = Literal["question", "post", "answer", "ack", "bot", "other"]


class Message(Frozen):
    """One message of a thread, credited to the person who wrote it, with its place in the reply structure.

    ``id`` and ``reply_to`` come from the source where it has them (Slack ``ts``/``thread_ts``, e-mail
    ``Message-ID``/``In-Reply-To``, thread JSON ``id``/``reply_to``); otherwise ``rag.threads`` fills them
    (``m<N>`` positions; nick addressing, else the previous speaker). ``role`` and ``to`` are set by
    ``rag.threads.annotate``: see its docstring for the rules.
    """

    author: str
    text: str
    ts: str | None = None
    id: str | None = None
    reply_to: str | None = Field(default=None, description="Id of the message this one replies to.")
    to: str | None = Field(default=None, description="Author of the message this one replies to.")
    role: Role | None = Field(default=None, description="question, post (an opener that informs), answer (to "
                              "the asker), ack (asker confirms), bot, or other.")


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
        parts += [f"{m.author}\x01{m.ts}\x01{m.text}\x01{m.id}\x01{m.reply_to}\x01{m.role}" for m in self.messages]
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


FusionMethod = Literal["rrf", "minmax", "zscore", "adaptive"]


class Fusion(Frozen):
    """How the dense and BM25 runs become one ranking (``rag.fusion``).

    ``weight`` is dense's share in [0, 1] (BM25 gets ``1 - weight``): of reciprocal ranks for 'rrf', of
    per-query normalised scores for 'minmax' and 'zscore'; 'adaptive' starts from it and moves it per query."""

    method: FusionMethod = "rrf"
    weight: float = Field(default=0.5, ge=0.0, le=1.0)
    rrf_k: int = 60

    @property
    def label(self) -> str:
        """``method:weight``, the form ``whoknows eval --fusion`` and ``WHOKNOWS_FUSION`` accept."""
        return f"{self.method}:{self.weight:g}"


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


# -- query log --------------------------------------------------------------------------------------
class LoggedCitation(Frozen):
    """A cited document as recorded in the query log (enough to report on it after it is deleted)."""

    doc_id: str
    title: str
    kind: Kind
    source: str
    date: str | None = None
    authors: tuple[str, ...] = Field(default=(), description="Who wrote the quoted lines.")


class LoggedQuestion(Frozen):
    """One asked question and what whoknows answered, from the query log."""

    question_id: str
    asked_at: datetime
    asker: str | None = None
    question: str
    question_kind: str = "question"
    abstained: bool
    confidence: float
    latency_ms: float = 0.0
    citations: tuple[LoggedCitation, ...] = ()
    experts: tuple[str, ...] = ()


class Feedback(Frozen):
    """A thumbs up or down on one answer."""

    question_id: str
    helpful: bool
    comment: str | None = None
    at: datetime


class PurgeResult(Frozen):
    """What a purge of the query log removed."""

    questions: int
    feedback: int
    before: datetime


class ReplaySummary(Frozen):
    """What replaying a file of asked questions put into the query log."""

    file: str
    asked: int
    abstained: int
    feedback: int
    askers: int


# -- knowledge-gap report ---------------------------------------------------------------------------
GapReason = Literal["abstained", "low-confidence", "thumbs-down"]


class AskedQuestion(Frozen):
    """A representative question of a topic."""

    question_id: str
    question: str
    asker: str | None = None
    asked_at: datetime
    reason: GapReason | None = None


class Colleague(Frozen):
    """A person close to a topic: whom to ask to write it down."""

    name: str
    team: str | None = None
    active: bool | None = None
    score: float = 0.0


class SourceRef(Frozen):
    """A cited document with how much the logged answers relied on it."""

    doc_id: str
    title: str
    kind: Kind
    source: str
    date: str | None = None
    authors: tuple[str, ...] = Field(default=(), description="The people its evidence comes from.")
    citations: int = Field(default=0, description="Answers in the window that cited it.")
    askers: int = Field(default=0, description="Distinct people whose answers cited it.")
    last_cited: datetime | None = None


class TopicStats(Frozen):
    """A group of similar questions: its label, how often and by whom it was asked."""

    label: str
    terms: tuple[str, ...] = ()
    count: int
    askers: tuple[str, ...] = Field(default=(), description="Distinct askers, most frequent first.")
    first_asked: datetime
    last_asked: datetime
    questions: tuple[AskedQuestion, ...] = Field(default=(), description="Representative questions.")


class UnansweredTopic(TopicStats):
    """Questions that abstained, had low confidence or got a thumbs-down, grouped by topic."""

    abstained: int = 0
    low_confidence: int = 0
    thumbs_down: int = 0
    colleagues: tuple[Colleague, ...] = ()


class ChatOnlyTopic(TopicStats):
    """A topic repeatedly answered from threads and from no wiki page or retro."""

    threads: tuple[SourceRef, ...] = ()
    answers_citing_pages: int = 0


class SoleTopic(TopicStats):
    """A topic whose evidence comes from one person only."""

    person: str
    active: bool | None = None
    documents: tuple[SourceRef, ...] = ()


class SoleDocument(Frozen):
    """A document relied on whose knowledge comes from one person only."""

    document: SourceRef
    person: str
    active: bool | None = None


class InactiveHolder(Frozen):
    """Someone marked inactive (has left) who is still the only source of cited knowledge."""

    person: str
    team: str | None = None
    documents: tuple[SourceRef, ...] = ()
    topics: tuple[str, ...] = ()
    citations: int = 0


class SinglePoints(Frozen):
    """Bus factor of one: topics, documents and people who have left."""

    topics: tuple[SoleTopic, ...] = ()
    documents: tuple[SoleDocument, ...] = ()
    inactive: tuple[InactiveHolder, ...] = ()


class StaleDocument(Frozen):
    """A document older than the threshold that answers still cite often."""

    document: SourceRef
    age_days: int


class TrendPoint(Frozen):
    """Questions asked in one week (starting Monday) and how many of them were unanswered."""

    week: date
    asked: int
    unanswered: int


class GapReport(Frozen):
    """Where the organisation's knowledge is missing, only in chat, held by one person, or stale."""

    generated_at: datetime
    since: datetime | None = Field(default=None, description="Start of the window; None means the whole log.")
    log_enabled: bool = True
    questions: int = 0
    unanswered: int = 0
    askers: int = 0
    low_confidence_below: float
    stale_after_days: int
    unanswered_topics: tuple[UnansweredTopic, ...] = ()
    only_in_chat: tuple[ChatOnlyTopic, ...] = ()
    single_points: SinglePoints = SinglePoints()
    stale: tuple[StaleDocument, ...] = ()
    trend: tuple[TrendPoint, ...] = ()

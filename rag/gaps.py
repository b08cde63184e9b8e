"""The knowledge-gap report: what people ask that nothing documents, what lives only in chat, what one
person holds, and what is old but still relied on - all read from the query log.

A question is *unanswered* when it abstained, got a thumbs-down, or was answered with a confidence below
``gaps_low_confidence`` (a thumbs-up clears low confidence). Every other answer is *relied on*: its
citations are the evidence for the chat-only, single-point and stale sections.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from rag.engine import QueryEngine
from rag.errors import NotFound
from rag.querylog import now_utc
from rag.topics import Topic, find_topics
from rag.types import (
    AskedQuestion,
    ChatOnlyTopic,
    Colleague,
    Feedback,
    Filters,
    GapReason,
    GapReport,
    InactiveHolder,
    LoggedCitation,
    LoggedQuestion,
    SinglePoints,
    SoleDocument,
    SoleTopic,
    SourceRef,
    StaleDocument,
    TopicStats,
    TrendPoint,
    UnansweredTopic,
)

REPRESENTATIVES = 3
COLLEAGUES = 3


def gap_reason(q: LoggedQuestion, fb: Feedback | None, *, low_confidence: float) -> GapReason | None:
    """Why ``q`` counts as unanswered, or None when its answer is relied on."""
    if q.abstained:
        return "abstained"
    if fb is not None:
        return None if fb.helpful else "thumbs-down"
    return "low-confidence" if q.confidence < low_confidence else None


def build_report(engine: QueryEngine, *, since_days: float | None = None, stale_days: int | None = None,
                 now: datetime | None = None, groups: tuple[str, ...] | None = None) -> GapReport:
    """The gap report over the questions logged in the last ``since_days`` days (all when None).

    With ``groups`` (the caller's access groups) it is built only from what they may read: see
    :func:`visible_to`; ``None`` means no access check (auth off, the CLI)."""
    s = engine.settings
    now = now or now_utc()
    since = now - timedelta(days=since_days) if since_days is not None else None
    stale_days = s.gaps_stale_days if stale_days is None else stale_days
    empty = GapReport(generated_at=now, since=since, low_confidence_below=s.gaps_low_confidence,
                      stale_after_days=stale_days, log_enabled=engine.query_log is not None)
    if engine.query_log is None:
        return empty
    asked = visible_to(engine, engine.query_log.questions(since=since), groups)
    feedback = engine.query_log.feedback()
    reasons = {q.question_id: gap_reason(q, feedback.get(q.question_id), low_confidence=s.gaps_low_confidence)
               for q in asked}
    gaps = [q for q in asked if reasons[q.question_id]]
    relied = [q for q in asked if not reasons[q.question_id]]
    evidence = Evidence.collect(engine, relied)
    answered_topics = _topics(engine, relied)
    return empty.model_copy(update={
        "questions": len(asked), "unanswered": len(gaps), "askers": len({q.asker for q in asked if q.asker}),
        "unanswered_topics": _unanswered(engine, gaps, reasons, groups),
        "only_in_chat": _only_in_chat(engine, relied, answered_topics, evidence),
        "single_points": _single_points(engine, relied, answered_topics, evidence),
        "stale": _stale(evidence, now=now, stale_days=stale_days, min_citations=s.gaps_stale_min_citations),
        "trend": _trend(asked, reasons)})


def visible_to(engine: QueryEngine, asked: list[LoggedQuestion], groups: tuple[str, ...] | None
               ) -> list[LoggedQuestion]:
    """The questions whose every citation the caller may read now (a document deleted since, whose
    access is unknown, counts as unreadable). An answer drawn from a restricted document - its quotes,
    title, authors, even the question that found it - never reaches someone outside its groups."""
    if groups is None:
        return asked
    readable: dict[str, bool] = {}

    def can(doc_id: str) -> bool:
        if doc_id not in readable:
            try:
                engine.document(doc_id, groups=groups)
                readable[doc_id] = True
            except NotFound:
                readable[doc_id] = False
        return readable[doc_id]

    return [q for q in asked if all(can(c.doc_id) for c in q.citations)]


# -- evidence: which documents the relied-on answers cite, and whose knowledge each holds ----------------
@dataclass
class Evidence:
    """Per cited document: how often, by whom, and the people its knowledge comes from."""

    refs: dict[str, SourceRef] = field(default_factory=dict)

    @classmethod
    def collect(cls, engine: QueryEngine, answers: Sequence[LoggedQuestion]) -> Evidence:
        """Aggregate the citations of ``answers``."""
        cites: dict[str, list[tuple[LoggedQuestion, LoggedCitation]]] = {}
        for q in answers:
            for c in q.citations:
                cites.setdefault(c.doc_id, []).append((q, c))
        ev = cls()
        for doc_id, uses in cites.items():
            last_q, last_c = uses[-1]
            ev.refs[doc_id] = SourceRef(
                doc_id=doc_id, title=last_c.title, kind=last_c.kind, source=last_c.source, date=last_c.date,
                authors=_people_of(engine, doc_id, [c for _, c in uses]),
                citations=len({q.question_id for q, _ in uses}), askers=len({q.asker for q, _ in uses if q.asker}),
                last_cited=last_q.asked_at)
        return ev

    def of(self, answers: Sequence[LoggedQuestion], *, primary_only: bool = False) -> list[SourceRef]:
        """The documents ``answers`` cite (only their first citation with ``primary_only``), most cited first."""
        ids = [c.doc_id for q in answers for c in (q.citations[:1] if primary_only else q.citations)]
        return sorted((self.refs[d] for d in dict.fromkeys(ids)), key=lambda r: (-r.citations, r.title))


def _people_of(engine: QueryEngine, doc_id: str, cites: list[LoggedCitation]) -> tuple[str, ...]:
    """Whose knowledge a document holds: a page's authors; for a thread, who wrote the quoted messages."""
    names: list[str] = [a for c in cites for a in c.authors]
    if cites[0].kind != "thread":
        try:
            names = list(engine.document(doc_id).authors) or names
        except NotFound:
            pass  # deleted since it was cited: the logged quote authors are all we know
    return tuple(n for n in engine.people.canonical_all(names) if n and n != "unknown")


# -- sections ---------------------------------------------------------------------------------------------
def _topics(engine: QueryEngine, qs: list[LoggedQuestion]) -> list[Topic]:
    if not qs:
        return []
    texts = [q.question for q in qs]
    return find_topics(texts, engine.embedder.embed_documents(texts), distance=engine.settings.gaps_cluster_distance)


def _stats(topic: Topic, qs: list[LoggedQuestion],
           reasons: dict[str, GapReason | None] | None = None) -> TopicStats:
    """The fields every topic section shares, over the questions ``qs`` (most central first)."""
    askers = Counter(q.asker for q in qs if q.asker)
    reps: dict[str, LoggedQuestion] = {}
    for q in qs:
        reps.setdefault(q.question.casefold(), q)
    questions = tuple(AskedQuestion(question_id=q.question_id, question=q.question, asker=q.asker,
                                    asked_at=q.asked_at, reason=(reasons or {}).get(q.question_id))
                      for q in list(reps.values())[:REPRESENTATIVES])
    return TopicStats(label=topic.label, terms=topic.terms, count=len(qs),
                      askers=tuple(sorted(askers, key=lambda a: (-askers[a], a))),
                      first_asked=min(q.asked_at for q in qs), last_asked=max(q.asked_at for q in qs),
                      questions=questions)


def _unanswered(engine: QueryEngine, gaps: list[LoggedQuestion], reasons: dict[str, GapReason | None],
                groups: tuple[str, ...] | None = None) -> tuple[UnansweredTopic, ...]:
    out = []
    for t in _topics(engine, gaps):
        qs = [gaps[i] for i in t.members]
        why = Counter(reasons[q.question_id] for q in qs)
        out.append(UnansweredTopic(**_stats(t, qs, reasons).model_dump(), abstained=why["abstained"],
                                   low_confidence=why["low-confidence"], thumbs_down=why["thumbs-down"],
                                   colleagues=_colleagues(engine, qs[0].question, groups)))
    return tuple(sorted(out, key=lambda u: (-u.count, -len(u.askers), u.label)))


def _colleagues(engine: QueryEngine, question: str, groups: tuple[str, ...] | None = None
                ) -> tuple[Colleague, ...]:
    """The active colleagues nearest the topic in what the caller may read: whom to ask to write it down."""
    scope = Filters(groups=groups) if groups is not None else None
    experts = [e for e in engine.experts(question, k=10, filters=scope) if e.active is not False]
    return tuple(Colleague(name=e.name, team=e.team, active=e.active, score=e.score) for e in experts[:COLLEAGUES])


def _only_in_chat(engine: QueryEngine, relied: list[LoggedQuestion], topics: list[Topic],
                  evidence: Evidence) -> tuple[ChatOnlyTopic, ...]:
    """Topics answered from threads (or unreviewed drafts) alone at least ``gaps_min_repeats`` times, and more
    often than from reviewed pages."""
    out = []
    reviewed = _reviewed_pages(engine, relied)
    for t in topics:
        qs = [relied[i] for i in t.members]
        # A codified draft is still chat's knowledge: only a reviewed page takes a topic out of this section.
        chat = [q for q in qs if q.citations and all(c.doc_id not in reviewed for c in q.citations)]
        pages = [q for q in qs if any(c.doc_id in reviewed for c in q.citations)]
        if len(chat) >= engine.settings.gaps_min_repeats and len(chat) > len(pages):
            out.append(ChatOnlyTopic(**_stats(t, chat).model_dump(), threads=tuple(evidence.of(chat)),
                                     answers_citing_pages=len(pages)))
    return tuple(sorted(out, key=lambda c: (-c.count, c.label)))


def _reviewed_pages(engine: QueryEngine, answers: list[LoggedQuestion]) -> set[str]:
    """Cited wiki pages and retros, less drafts written by ``whoknows codify`` that nobody has reviewed yet."""
    from rag.codify.render import is_draft  # rag.codify imports this module's engine too

    out = set()
    for doc_id in {c.doc_id for q in answers for c in q.citations if c.kind != "thread"}:
        try:
            if not is_draft(engine.document(doc_id).text):
                out.add(doc_id)
        except NotFound:
            out.add(doc_id)  # deleted since: it was a page when it was cited
    return out


def _single_points(engine: QueryEngine, relied: list[LoggedQuestion], topics: list[Topic],
                   evidence: Evidence) -> SinglePoints:
    """Topics and documents whose evidence comes from one person, and people who left holding some."""
    repeats = engine.settings.gaps_min_repeats

    def active(name: str) -> bool | None:
        person = engine.people.get(name)
        return person.active if person else None

    docs = tuple(SoleDocument(document=r, person=r.authors[0], active=active(r.authors[0]))
                 for r in sorted(evidence.refs.values(), key=lambda r: (-r.citations, r.title))
                 if len(r.authors) == 1 and r.citations >= repeats)
    sole_topics = []
    for t in topics:
        qs = [relied[i] for i in t.members if relied[i].citations]
        primary = evidence.of(qs, primary_only=True)
        people = {a for r in primary for a in r.authors}
        if len(qs) >= repeats and len(people) == 1:
            person = people.pop()
            sole_topics.append(SoleTopic(**_stats(t, qs).model_dump(), person=person, active=active(person),
                                         documents=tuple(primary)))
    sole_topics.sort(key=lambda st: (-st.count, st.label))
    return SinglePoints(topics=tuple(sole_topics), documents=docs,
                        inactive=_inactive(engine, docs, sole_topics))


def _inactive(engine: QueryEngine, docs: tuple[SoleDocument, ...],
              topics: list[SoleTopic]) -> tuple[InactiveHolder, ...]:
    names = dict.fromkeys([d.person for d in docs if d.active is False] +
                          [t.person for t in topics if t.active is False])
    out = []
    for name in names:
        person = engine.people.get(name)
        held = [d.document for d in docs if d.person == name]
        held += [r for t in topics if t.person == name for r in t.documents if r not in held]
        out.append(InactiveHolder(person=name, team=person.team if person else None, documents=tuple(held),
                                  topics=tuple(t.label for t in topics if t.person == name),
                                  citations=sum(r.citations for r in held)))
    return tuple(sorted(out, key=lambda h: (-h.citations, h.person)))


def _stale(evidence: Evidence, *, now: datetime, stale_days: int, min_citations: int) -> tuple[StaleDocument, ...]:
    out = []
    for r in evidence.refs.values():
        try:
            written = date.fromisoformat((r.date or "")[:10])
        except ValueError:
            continue  # undated: cannot be judged stale
        age = (now.date() - written).days
        if age > stale_days and r.citations >= min_citations:
            out.append(StaleDocument(document=r, age_days=age))
    return tuple(sorted(out, key=lambda d: (-d.document.citations, -d.age_days, d.document.title)))


def _trend(asked: list[LoggedQuestion], reasons: dict[str, GapReason | None]) -> tuple[TrendPoint, ...]:
    """Questions per week (Monday first), empty weeks included so a chart's x axis is true time."""
    if not asked:
        return ()
    weeks: Counter[date] = Counter()
    gaps: Counter[date] = Counter()
    for q in asked:
        d = q.asked_at.date()
        week = d - timedelta(days=d.weekday())
        weeks[week] += 1
        gaps[week] += 1 if reasons[q.question_id] else 0
    out, week = [], min(weeks)
    while week <= max(weeks):
        out.append(TrendPoint(week=week, asked=weeks[week], unanswered=gaps[week]))
        week += timedelta(days=7)
    return tuple(out)

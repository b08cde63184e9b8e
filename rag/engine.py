"""The query side in one object: retrieve, answer with citations, rank experts, decide to abstain."""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from rag.abstain import AbstainModel, Signals
from rag.access import can_read
from rag.answers.checks import check_quotes
from rag.answers.focus import rarest_focus
from rag.answers.parts import question_parts, uncovered_parts
from rag.bm25 import BM25Index
from rag.codify.rank import draft_docs, drafts_last
from rag.config import Settings
from rag.embeddings import make_embedder
from rag.embeddings.base import Embedder
from rag.errors import BadInput, NotFound
from rag.evidence import coverage, query_terms
from rag.experts import rank_experts
from rag.generators import make_generator
from rag.generators.base import Draft, Quote
from rag.generators.extractive import ExtractiveGenerator
from rag.people import load_people
from rag.querylog import QueryLog
from rag.retrieval import HybridRetriever, Retrieved, ranked_doc_ids
from rag.stores import LexicalIndex, open_store
from rag.stores.postgres import PostgresStore
from rag.text import embed_text
from rag.threads.answer import expand_threads
from rag.tune import engine_fusion
from rag.types import Answer, Chunk, Citation, Expert, Filters, Hit

log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 2000
_WHO = re.compile(
    r"\bwho(m)?\b(?:'s|\s+is|\s+are|\s+was)?\s+(?:the\s+)?(?:right\s+|best\s+|go-to\s+)?(?:person|people|expert|owner|"
    r"contact|team)\b"
    r"|\bwho(m)?\s+(?:should|can|could|do|would|shall|must)\s+(?:i|we|one|they|a new hire)\s+(?:\w+\s+){0,2}?"
    r"(?:ask|talk|speak|go|turn|contact|ping|reach|email|message|escalate|call|approach)\b"
    r"|\bwho(?:'s|\s+is|\s+are)?\s+(?:still\s+|actually\s+|now\s+)?(?:knows?|owns?|maintains?|looks?\s+after|deals?\s+with|"
    r"handles?|understands?|runs?|is\s+responsible|responsible|in\s+charge|can\s+help|could\s+help|"
    r"can\s+explain|could\s+explain|can\s+walk|could\s+walk|has\s+context|knows\s+about|wrote|set\s+up|built)\b"
    r"|\bwho\s+(?:can|could|will)\s+(?!i\b|we\b|you\b)\w+",
    re.IGNORECASE,
)
NO_ANSWER = "The knowledge base does not cover this."


def is_who_knows(question: str) -> bool:
    """'Who should I ask about X?' and friends: answered with people first."""
    return bool(_WHO.search(question))


@dataclass
class DocumentView:
    """A stored document reassembled from its chunks."""

    doc_id: str
    title: str
    kind: str
    source: str
    paths: tuple[str, ...]
    url: str | None
    authors: tuple[str, ...]
    date: str | None
    channel: str | None
    text: str
    access: tuple[str, ...]


class QueryEngine:
    """Everything a question needs, built once from settings and shared by CLI, API and eval."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self.store = open_store(settings, self.embedder, create=False)
        manifest = settings.manifest_path
        self.bm25: LexicalIndex
        if isinstance(self.store, PostgresStore):
            self.bm25 = self.store.lexical()  # BM25 runs in the database: nothing to build or hold here
        else:
            self.bm25 = BM25Index(self.store, version=lambda: (self.store.count(), _mtime(manifest)),
                                  title_boost=settings.bm25_title_boost)
        self.retriever = HybridRetriever(
            store=self.store, embedder=self.embedder, bm25=self.bm25, fusion=engine_fusion(settings),
            candidates=settings.candidates, max_per_doc=settings.max_chunks_per_doc)
        self.generator = make_generator(settings, idf=self.bm25.idf)
        # The quotes an extractive answer would use feed the abstention signals, whatever the generator
        # (with the extractive generator they are chosen once and are the answer's quotes).
        self._selector = (self.generator if isinstance(self.generator, ExtractiveGenerator)
                          else ExtractiveGenerator(self.bm25.idf, max_thread_replies=settings.max_thread_replies))
        for gen in (self._selector, self.generator):
            if isinstance(gen, ExtractiveGenerator):
                gen.doc_chunks = self._thread_chunks
        self.people = load_people(settings)
        model = AbstainModel.load()
        if settings.abstain_threshold is not None:
            model = AbstainModel(model.weights, model.bias, settings.abstain_threshold)
        self.abstain_model = model
        self.query_log = QueryLog.from_settings(settings)
        self._threads: dict[tuple[object, ...], list[Chunk]] = {}
        self._draft_ids: frozenset[str] = frozenset()
        self._draft_key: tuple[object, ...] | None = None

    # -- public ------------------------------------------------------------------------------
    def ask(self, question: str, *, k: int | None = None, filters: Filters | None = None,
            asker: str | None = None, asked_at: datetime | None = None) -> Answer:
        """Answer ``question`` with cited sources and the colleagues who know, or abstain.

        The question is then recorded in the query log under ``asker`` (``asked_at`` defaults to now;
        replaying a log of past questions sets it)."""
        t0 = time.perf_counter()
        question = validate_question(question)
        k = validate_k(k or self.settings.top_k)
        got = self.retriever.retrieve(question, k=k, filters=filters)
        got = replace(got, hits=drafts_last(got.hits, self._drafts()))  # unreviewed drafts below reviewed pages
        hits = expand_threads(got.hits, self._thread_chunks, focus=self._focus(question))
        signals, quotes = self._assess(question, got, hits, k=k, filters=filters)
        confidence = self.abstain_model.confidence(signals) if got.hits else 0.0
        abstained = not got.hits or confidence < self.abstain_model.threshold
        who = is_who_knows(question)
        if abstained:
            draft = Draft(text=NO_ANSWER)
        else:
            if self.generator is self._selector:
                draft = self._selector.draft(quotes)
            else:
                draft = self.generator.generate(question, hits, max_sentences=self.settings.max_answer_sentences)
            if draft.flagged:
                # Markers and error types only (never question or document text): an operator can see
                # an LLM that drops citations or times out and falls back to the extractive answer.
                log.warning("%s generator flagged: %s", self.generator.name, ", ".join(draft.flagged))
            if not draft.quotes and not draft.text.strip():
                abstained, draft = True, Draft(text=NO_ANSWER)
        experts = rank_experts(question, hits if not abstained else hits[:3], quotes=draft.quotes,
                               people=self.people, idf=self.bm25.idf)
        if abstained:
            # Still say whom to ask when someone is close to the topic, but only on real overlap.
            experts = experts[:3] if signals.coverage >= 0.34 else []
        citations = self._citations(draft.quotes) if not abstained else []
        text = draft.text
        if abstained:
            text = NO_ANSWER + (f" Closest colleagues to ask: {', '.join(e.name for e in experts)}."
                                if experts else "")
        elif who and experts:
            # Whom to ask: people who have left are still shown, but after those who can answer.
            experts = sorted(experts, key=lambda e: e.active is False)
            text = _people_first(experts) + " " + text
        # A two-part question with one part answered says which part is not (rag.answers.parts).
        uncovered = [] if abstained or who else uncovered_parts(question, draft.quotes, self.bm25.idf)
        if uncovered:
            text += " " + " ".join(f'The knowledge base does not cover this part: "{p}"' for p in uncovered)
        answer = Answer(question=question, answer=text, abstained=abstained, confidence=round(confidence, 4),
                        citations=tuple(citations), experts=tuple(experts),
                        latency_ms=round((time.perf_counter() - t0) * 1000, 1),
                        question_kind="who-knows" if who else "question", question_id=uuid.uuid4().hex)
        self._log(answer, asker=asker, asked_at=asked_at)
        for part in uncovered:  # logged as an unanswered question of its own: it belongs in the gap report
            self._log(Answer(question=part, answer=NO_ANSWER, abstained=True, confidence=0.0,
                             question_id=uuid.uuid4().hex), asker=asker, asked_at=asked_at)
        return answer

    def search(self, query: str, *, k: int = 10, filters: Filters | None = None, mode: str = "hybrid") -> list[Hit]:
        """Ranked chunks for ``query`` (no answer)."""
        hits = self.retriever.retrieve(validate_question(query, field="q"), k=validate_k(k), filters=filters,
                                       mode=mode).hits
        return drafts_last(hits, self._drafts())

    def experts(self, query: str, *, k: int = 10, filters: Filters | None = None) -> list[Expert]:
        """The colleagues who know most about ``query``."""
        hits = self.search(query, k=k, filters=filters)
        return rank_experts(query, hits, quotes=[], people=self.people, idf=self.bm25.idf)

    def document(self, doc_id: str, *, groups: tuple[str, ...] | None = None) -> DocumentView:
        """A whole stored document; NotFound when unknown (or not readable by ``groups``)."""
        chunks = self.store.get(doc_id=doc_id)
        if groups is not None:
            allowed = set(groups) | {"public"}
            chunks = [c for c in chunks if allowed.intersection(c.access)]
        if not chunks:
            raise NotFound(f"No document with id {doc_id!r} - ids come from citations or /search results.")
        c0 = chunks[0]
        body = "\n\n".join(c.text for c in chunks)
        return DocumentView(doc_id=doc_id, title=c0.title, kind=c0.kind, source=c0.source, paths=c0.paths,
                            url=c0.url, authors=c0.doc_authors, date=c0.date, channel=c0.channel, text=body,
                            access=c0.access)

    def channels(self, *, groups: tuple[str, ...] | None = None) -> list[str]:
        """Channels (Slack channels, mailboxes, thread channels) holding something ``groups`` may read."""
        return sorted({c.channel for c in self.bm25.all_chunks() if c.channel and can_read(c.access, groups)})

    def store_state(self) -> tuple[object, ...]:
        """A fingerprint of the store that every write changes (what the caches of answers and reports key on).

        Embedded or Chroma server: the chunk count and the local ledger's mtime (every ingest writes it).
        Postgres: the collection's write revision - the ledger is in the database, and a re-ingest that
        replaces a document by one of the same size, or re-keys ids, leaves count and local files unchanged."""
        if isinstance(self.store, PostgresStore):
            return ("postgres", self.store.revision())
        return (self.store.count(), _mtime(self.settings.manifest_path))

    # -- internals -----------------------------------------------------------------------------
    def _focus(self, question: str) -> frozenset[str]:
        """The question's rarest focus term (rag.answers.focus): a thread holding it where the first few threads
        do not is read whole."""
        return frozenset({rarest_focus(question, self.bm25.idf)} - {""})

    def _thread_chunks(self, doc_id: str) -> list[Chunk]:
        """Every chunk of one thread (cached by the store's state: a re-ingest may change the thread)."""
        key = (doc_id, *self.store_state())
        if key not in self._threads:
            if len(self._threads) > 512:
                self._threads.clear()
            # The in-memory BM25 index holds every chunk: no store read when it is current (a filtered
            # Chroma get costs ~17 ms at 100k chunks).
            held = self.bm25.document(doc_id, version=key[1:]) if isinstance(self.bm25, BM25Index) else None
            self._threads[key] = held if held is not None else self.store.get(doc_id=doc_id)
        return self._threads[key]

    def _drafts(self) -> frozenset[str]:
        """Doc ids of unreviewed ``whoknows codify`` drafts (cached by the store's state, like threads)."""
        key = self.store_state()
        if self._draft_key != key:
            self._draft_ids, self._draft_key = draft_docs(self.bm25), key
        return self._draft_ids

    def _log(self, answer: Answer, *, asker: str | None, asked_at: datetime | None) -> None:
        if self.query_log is None:
            return
        try:
            self.query_log.record(answer, asker=asker, asked_at=asked_at)
        except Exception as exc:  # a broken log must never cost the asker their answer
            log.warning("query log: could not record question %s: %s", answer.question_id, exc)

    def signals(self, question: str, got: Retrieved, *, filters: Filters | None = None) -> Signals:
        """Evidence-strength features for the abstention model: of the passages, and of the quotes an
        extractive answer would take from them (:mod:`rag.answers.checks`).

        The quotes are chosen from the hits as the answer sees them: a retrieved thread brings its whole
        conversation, so a thread's replies are checked, not only the chunk that matched - usually the
        asker's own question."""
        hits = expand_threads(got.hits, self._thread_chunks, focus=self._focus(question))
        return self._assess(question, got, hits, filters=filters)[0]

    def _assess(self, question: str, got: Retrieved, hits: list[Hit], *, k: int | None = None,
                filters: Filters | None = None) -> tuple[Signals, list[Quote]]:
        """:meth:`signals` over the thread-expanded ``hits``, and the quotes they were computed from.

        A two-part question ("How long do we keep X, and why?"): the whole question's signals are diluted by
        the words of each part (coverage, focus, the type near its rarest term), so each part is also
        retrieved on its own (with the same ``filters``) and every signal is the mean over the whole and the
        two parts (:meth:`Signals.mean`). Their best was measured too: it answers two-part near-misses
        whose one part has no type to check (README, "Latest figures")."""
        signals, quotes = self._evidence(question, got, hits)
        parts = [] if is_who_knows(question) else question_parts(question)
        if len(parts) == 2:
            of_parts = []
            for part in parts:
                part_got = self.retriever.retrieve(part, k=k or self.settings.top_k, filters=filters)
                part_got = replace(part_got, hits=drafts_last(part_got.hits, self._drafts()))
                part_hits = expand_threads(part_got.hits, self._thread_chunks, focus=self._focus(part))
                of_parts.append(self._evidence(part, part_got, part_hits)[0])
            signals = Signals.mean([signals, *of_parts])
        return signals, quotes

    def _evidence(self, question: str, got: Retrieved, hits: list[Hit]) -> tuple[Signals, list[Quote]]:
        """The signals of one retrieval of ``question`` and the quotes they were computed from."""
        terms = query_terms(question)
        cov = max((coverage(terms, embed_text(h.chunk), self.bm25.idf) for h in got.hits[:3]), default=0.0)
        dense_docs = list(dict.fromkeys(c.doc_id for c, _ in got.dense))
        bm25_docs = list(dict.fromkeys(c.doc_id for c, _ in got.bm25))
        agree = 1.0 if dense_docs and bm25_docs and (dense_docs[0] in bm25_docs[:5] or bm25_docs[0] in
                                                      dense_docs[:5]) else 0.0
        dense_scores = []
        seen: set[str] = set()
        for c, s in got.dense:
            if c.doc_id not in seen:
                seen.add(c.doc_id)
                dense_scores.append(s)
        top = dense_scores[0] if dense_scores else 0.0
        gap = top - dense_scores[1] if len(dense_scores) > 1 else top
        b = got.bm25[0][1] if got.bm25 else 0.0
        # The question's two rarest terms are what distinguishes it; are they in the evidence at all?
        rare_terms = sorted(terms, key=lambda t: -self.bm25.idf(t))[:2]
        evidence = " ".join(embed_text(h.chunk) for h in got.hits[:3])
        rare = coverage(rare_terms, evidence, lambda _t: 1.0) if rare_terms else 0.0
        quotes = self._selector.select(question, hits, max_sentences=self.settings.max_answer_sentences)
        checks = check_quotes(question, quotes, self.bm25.idf, people_question=is_who_knows(question))
        return Signals(dense_top=top, coverage=cov, agree=agree, gap=gap, bm25_top=b / (b + 10.0), rare=rare,
                       type_match=checks.type_match, focus=checks.focus, type_next=checks.type_next), quotes

    def _citations(self, quotes: list[Quote]) -> list[Citation]:
        by_doc: dict[str, list[Quote]] = {}
        for q in quotes:
            by_doc.setdefault(q.hit.chunk.doc_id, []).append(q)
        out = []
        for n, (doc_id, qs) in enumerate(by_doc.items(), start=1):
            c = qs[0].hit.chunk
            authors = tuple(dict.fromkeys(a for q in qs for a in q.authors))
            out.append(Citation(n=n, doc_id=doc_id, title=c.title, kind=c.kind, source=c.source, url=c.url,
                                quote=" … ".join(q.text for q in qs), section=c.section, authors=authors,
                                date=c.date))
        return out


def ranked_documents(hits: list[Hit]) -> list[str]:
    """Distinct doc ids in rank order (for evaluation)."""
    return ranked_doc_ids(hits)


def _people_first(experts: list[Expert]) -> str:
    top = experts[0]
    extra = f" ({top.team})" if top.team else ""
    if top.active is False:
        extra += ", who has left - their notes remain"
    others = ", ".join(e.name + (" (has left)" if e.active is False else "") for e in experts[1:3])
    return f"Ask {top.name}{extra}." + (f" Also close to this: {others}." if others else "")


def validate_question(question: object, *, field: str = "question") -> str:
    """A non-empty string of reasonable length, else BadInput naming the field."""
    if not isinstance(question, str):
        raise BadInput(f"'{field}' must be a string", field=field)
    q = question.strip()
    if not q:
        raise BadInput(f"'{field}' is empty - ask a question in plain language", field=field)
    if len(q) > MAX_QUESTION_CHARS:
        raise BadInput(f"'{field}' is {len(q)} characters; the limit is {MAX_QUESTION_CHARS}", field=field)
    return q


def validate_k(k: object) -> int:
    """1..50 results."""
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50:
        raise BadInput("'k' must be an integer from 1 to 50", field="k")
    return k


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0

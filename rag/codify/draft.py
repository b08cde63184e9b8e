"""From chat to a draft page: find the threads that answer a topic, and lift their answer out as quotes.

What a draft takes from each thread (roles from :mod:`rag.threads`):

- the question: the thread's opener, in the asker's words (plus the questions asked of whoknows on the
  same gap-report topic); an opening *post* that others answered is the question too (a problem described
  without a question mark), and its author is the asker, not an author of the answer;
- the answer: every message with thread credit (:func:`rag.threads.answer.credit`: the replies to the
  asker, an informing post), in order, each quoted with its author and a link back to the message; a short
  reply right after one of the asker's follow-up questions carries that question as its context;
- the steps: numbered or bulleted lines of those messages, kept in the order given;
- to confirm: a later message that corrects or supersedes an earlier answer ("better fix", "actually",
  "no longer"...), what the asker found out themselves after the answers, and threads whose steps differ.

Authors are the people whose messages carry the answer, heaviest credit first; never the asker.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from rag.access import can_read
from rag.codify.types import CodifyDraft, DraftQuote, DraftSource, DraftStep
from rag.engine import QueryEngine
from rag.errors import BadInput, NotFound
from rag.text import key_terms, stem, words
from rag.threads.answer import asker, credit, is_structured, opener, thread_messages
from rag.types import Chunk, Filters, Message

MAX_THREADS = 5
_STEP = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*\u2022])\s+(\S.*)$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_CORRECTS = re.compile(
    r"\b(actually|correction|instead|better\s+(?:fix|way|option)|no\s+longer|not\s+needed|goes\s+away|"
    r"scratch\s+that|update[d]?:|edit:|wrong|ignore\s+(?:that|my)|turns\s+out|rather)\b", re.IGNORECASE)
_ACKISH = re.compile(r"^\W*(thanks?|thank you|thx|ty|cheers|ok|okay|great|perfect|nice)\b", re.IGNORECASE)
FINDING_WORDS = 6


class Thread:
    """One readable thread, its messages reassembled in order."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        parts = sorted(chunks, key=lambda c: c.index)
        self.head = parts[0]
        self.messages: list[Message] = thread_messages(parts)
        self.weights = credit(self.messages)
        self.asker = asker(self.messages)
        first = opener(self.messages)
        self.opener = first
        if first is not None and first.role == "post" and any(m.role == "answer" and m.to == first.author
                                                                for m in self.messages):
            # A problem described without a question mark is a post to rag.threads; once others answer
            # it, it is the question here, and its author asked it rather than wrote the answer.
            self.asker = first.author
            self.weights.pop(first.id or "", None)

    @property
    def source(self) -> DraftSource:
        """The thread as a draft's source."""
        c = self.head
        return DraftSource(doc_id=c.doc_id, title=c.title, source=c.source, url=c.url, channel=c.channel,
                           date=c.date)

    def link(self, m: Message) -> str:
        """Where message ``m`` lives: the thread's source id, then the message's own id (Slack ts, e-mail
        Message-ID, or its ``m<N>`` position): ``slack/platform/2025-10-14.json#<thread ts>/<message ts>``."""
        c = self.head
        if c.url and c.url.startswith(("http://", "https://")):
            return f"{c.url}#{m.id}" if m.id else c.url
        if not m.id or c.source.endswith(f"#{m.id}"):
            return c.source
        return f"{c.source}/{m.id}" if "#" in c.source else f"{c.source}#{m.id}"

    def quote(self, m: Message, *, context: DraftQuote | None = None) -> DraftQuote:
        """``m`` as a quote with its link."""
        return DraftQuote(author=m.author, text=m.text.strip(), link=self.link(m), doc_id=self.head.doc_id,
                          message_id=m.id, ts=m.ts, context=context)


def threads_for(engine: QueryEngine, target: str, *, groups: tuple[str, ...] | None
                ) -> tuple[list[Thread], str | None, tuple[str, ...]]:
    """The readable threads for ``target`` (a thread doc id, a gap-report chat-only topic, or words), with
    the matched topic's label and the questions asked of whoknows on it."""
    target = " ".join(target.split())
    if not target:
        raise BadInput("say which topic or thread to write down", field="target")
    own = _thread(engine, target, groups)
    if own is not None:
        return [own], None, ()
    topic = _chat_topic(engine, target, groups)
    if topic is not None:
        label, doc_ids, asked = topic
        found = [t for t in (_thread(engine, d, groups) for d in doc_ids) if t is not None and t.weights]
        if found:
            return found[:MAX_THREADS], label, asked
    hits = engine.search(target, k=10, filters=Filters(kind=("thread",), groups=groups))
    wanted = {stem(w) for w in key_terms(target)}
    for h in hits:
        t = _thread(engine, h.chunk.doc_id, groups)
        if t is not None and t.weights and _about(t, wanted):
            return [t], None, ()
    # The target is not echoed: an id or words the caller may not read answer like ones that never existed.
    raise NotFound("No readable thread answers this - pass a topic from the gap report's 'knowledge only in "
                   "chat' or a thread's doc id from /search.")


def _about(t: Thread, wanted: set[str]) -> bool:
    """At least half of the target's terms occur in the thread (search always returns something)."""
    have = {stem(w) for m in t.messages for w in key_terms(m.text)}
    return bool(wanted) and len(wanted & have) >= len(wanted) / 2


def _thread(engine: QueryEngine, doc_id: str, groups: tuple[str, ...] | None) -> Thread | None:
    chunks = [c for c in engine.store.get(doc_id=doc_id) if can_read(c.access, groups)]
    if not chunks or chunks[0].kind != "thread" or not is_structured(chunks[0].messages):
        return None
    return Thread(chunks)


def _chat_topic(engine: QueryEngine, target: str, groups: tuple[str, ...] | None
                ) -> tuple[str, list[str], tuple[str, ...]] | None:
    """The gap report's chat-only topic that ``target`` names (its label, or most of its terms)."""
    from rag.gaps import build_report  # the report imports the engine; so does this module's caller

    wanted = {stem(t) for t in key_terms(target)}
    best, best_score = None, 0.0
    for t in build_report(engine, groups=groups).only_in_chat:
        if t.label.casefold() == target.casefold():
            best, best_score = t, 2.0
            break
        have = {stem(x) for x in t.terms} | {stem(x) for q in t.questions for x in key_terms(q.question)}
        score = len(wanted & have) / len(wanted) if wanted else 0.0
        if score > best_score:
            best, best_score = t, score
    if best is None or best_score < 0.5:
        return None
    return best.label, [d.doc_id for d in best.threads], tuple(q.question for q in best.questions)


def build_draft(engine: QueryEngine, target: str, *, groups: tuple[str, ...] | None = None) -> CodifyDraft:
    """The draft's parts for ``target`` (see the module docstring); ``markdown`` is left to the renderer."""
    threads, label, asked = threads_for(engine, target, groups=groups)
    credit_of: dict[str, float] = defaultdict(float)
    question: list[DraftQuote] = []
    answer: list[DraftQuote] = []
    steps: list[DraftStep] = []
    confirm: list[str] = []
    per_thread_steps: list[tuple[Thread, list[str]]] = []
    for t in threads:
        if t.opener is not None and t.asker == t.opener.author:
            question.append(t.quote(t.opener))
        mine = _answers(t)
        for m, quote in mine:
            credit_of[engine.people.canonical(m.author)] += t.weights.get(m.id or "", 0.0)
            answer.append(quote)
        own_steps = [(m, s) for m, _ in mine for s in _steps(m.text)]
        steps += [DraftStep(n=len(steps) + i + 1, text=s, author=m.author, link=t.link(m))
                  for i, (m, s) in enumerate(own_steps)]
        per_thread_steps.append((t, [s for _, s in own_steps]))
        confirm += _to_confirm(t, [m for m, _ in mine])
    confirm += _disagreements(per_thread_steps)
    authors = tuple(sorted(credit_of, key=lambda n: (-credit_of[n], n)))
    title = _title(asked, threads)
    return CodifyDraft(topic=target, title=title, authors=authors, sources=tuple(t.source for t in threads),
                       question=tuple(question), asked=asked, answer=tuple(answer), steps=tuple(steps),
                       to_confirm=tuple(dict.fromkeys(confirm)))


def _answers(t: Thread) -> list[tuple[Message, DraftQuote]]:
    """The credited messages in order; a short reply after the asker's follow-up question quotes it."""
    out = []
    for i, m in enumerate(t.messages):
        if (m.id or "") not in t.weights:
            continue
        context = None
        prev = t.messages[i - 1] if i else None
        if (prev is not None and prev.author == t.asker and "?" in prev.text and prev is not t.opener
                and len(words(m.text)) <= 12):
            context = t.quote(prev)
        out.append((m, t.quote(m, context=context)))
    return out


def _steps(text: str) -> list[str]:
    return [m.group(1).strip() for line in text.splitlines() if (m := _STEP.match(line))]


def _to_confirm(t: Thread, answers: list[Message]) -> list[str]:
    """Corrections after the first answer, and what the asker found out after the answers."""
    if not answers:
        return []
    start = t.messages.index(answers[0])
    out = []
    for m in t.messages[start + 1:]:
        text = " ".join(m.text.split())
        if m in answers and _CORRECTS.search(text):
            out.append(f"Later in the thread {m.author} wrote: \"{text}\" ({t.link(m)}) - does the earlier "
                       "answer still hold, and should the page say the newer way?")
        elif m.author == t.asker and m.role != "ack" and not _ACKISH.match(text) and _states(text):
            out.append(f"{m.author}, who asked, added: \"{text}\" ({t.link(m)}) - confirm it belongs on the page.")
    return out


def _states(text: str) -> bool:
    """A message that tells something (a sentence of :data:`FINDING_WORDS` words that does not ask)."""
    return any(not s.rstrip().endswith("?") and len(words(s)) >= FINDING_WORDS for s in _SENTENCE.split(text))


def _disagreements(per_thread: list[tuple[Thread, list[str]]]) -> list[str]:
    """Threads that give different steps for the same topic."""
    with_steps = [(t, s) for t, s in per_thread if s]
    out = []
    for i, (a, sa) in enumerate(with_steps):
        for b, sb in with_steps[i + 1:]:
            ta = {stem(x) for s in sa for x in key_terms(s)}
            tb = {stem(x) for s in sb for x in key_terms(s)}
            if ta and tb and len(ta & tb) / len(ta | tb) < 0.5:
                out.append(f"'{a.head.title}' ({a.head.date or 'undated'}) and '{b.head.title}' "
                           f"({b.head.date or 'undated'}) give different steps - which is current?")
    return out


def _title(asked: tuple[str, ...], threads: list[Thread]) -> str:
    """The topic's most central question as asked of whoknows, else the first thread's title."""
    text = " ".join((asked[0] if asked else threads[0].head.title).split())
    return text if len(text) <= 100 else text[:99].rstrip() + "…"

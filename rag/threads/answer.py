"""A retrieved thread as an answer: the replies to the asker are quoted, the question is context, and the
people who replied get the credit. A thread that opens with a post (a long mail that informs) quotes the
post's own sentences too, credited to its author - except a *request* (:func:`is_request`), which is the
thread's question, long as it is, and only context: a post whose author later confirms a reply worked ("All
3 solutions work for me": it reported a problem), or a chat-sized post that asks (a ``?``), answered by
others none of whom thanked its author. The asker of a request is never an expert on it, and the answer
shows it as "(asked by X: ...)". The 60-word question cutoff (:data:`rag.threads.structure.POST_WORDS`) made a
few lines of IRC that ask into posts, and their author the top expert on their own question.
Measured (quick runs of every gold question): on ../shared/threadset the asker was the top expert on 5 of 282
questions, each such an opener; with the rule on none (asker_p@1 0.018 -> 0.000), expert P@1 0.954 -> 0.972,
evidence 0.887 -> 0.889; data/ and the devset unchanged on every headline metric. The two limits are
in-sample: without the chat size a mail that lays out a proposal and asks "OK from your side?" lost its
quotes (data/), and without the thanks test so would an announcement that asks "does anyone still need the
old packages?" (a unit test's case). Stronger forms were worse on the devset: the whole of a long mail as
context when any piece asks (citation recall 0.931 -> 0.902, CRAG 0.60 -> 0.55), and its author as the asker,
never an expert on it (expert P@1 0.882 -> 0.853): a maintainer who asks the list to rebuild packages is one
of the people to ask.

Credit rule (per answer message, before the retrieval weight of its thread):

- a reply to the asker counts 1.0;
- x1.5 when the asker acknowledges it afterwards (an ``ack`` that replies to it, or to its author);
- x0.5 when it only asks back (a short reply ending in ``?``: "which version?");
- the asker, bots and side conversations get nothing from their own thread.

A thread in which nobody replied to the asker yields no quotes and no credit: it is weak evidence, and
when it is all there is, the answer abstains.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.text import stem, strip_furniture, words
from rag.threads.structure import CHAT_LINE, confirms, has_question_mark, thanks
from rag.types import Chunk, Hit, Message

MAX_THREAD_MESSAGES = 300
# CHAT_LINE: an IRC line is at most 512 bytes with its prefix (RFC 1459): a longer opener is not one chat
# message. The threadset's long openers that ask are 62-90 words, 335-436 characters; data/'s shortest mail
# post that asks for approval after laying out a proposal is 552.
ASK_BACK_WORDS = 12


def is_structured(messages: Sequence[Message]) -> bool:
    """True for a conversation annotated at ingest (it has an opener), not a loose day of chat."""
    return any(m.role in ("question", "post") for m in messages)


def is_annotated(messages: Sequence[Message]) -> bool:
    """True when the messages carry the roles ingest gives a thread's messages, even without its opener (a
    later chunk of a long thread holds answers, acks and others); a loose day of chat has none but ``bot``."""
    return any(m.role not in (None, "bot") for m in messages)


def is_request(piece: Message, messages: Sequence[Message]) -> bool:
    """An opening post that is the thread's question, in a thread others answered: its author later confirms
    a reply worked ("All 3 solutions work for me": the post reported a problem, at any length), or it is
    chat-sized (at most :data:`CHAT_LINE` characters), asks (a ``?``) and none of the answers thanked its
    author for it ("thanks for moving them" answers a post that informed)."""
    if piece.role != "post":
        return False
    answers = [x for x in messages if x.role == "answer"]
    if not answers:
        return False
    if any(x.role == "ack" and x.author == piece.author and confirms(x.text) for x in messages):
        return True
    if not has_question_mark(piece.text) or len(piece.text) > CHAT_LINE:
        return False
    return not any(thanks(x.text) for x in answers)


def opener(messages: Sequence[Message]) -> Message | None:
    """The thread's opening message (a question, or a post that informs)."""
    return next((m for m in messages if m.role in ("question", "post")), None)


def asker(messages: Sequence[Message]) -> str | None:
    """Who asked, when the thread opens with a question or a request (:func:`is_request`; a post that
    informs has a source for its author, not an asker)."""
    first = opener(messages)
    if first is None or not (first.role == "question" or is_request(first, messages)):
        return None
    return first.author


def question_text(messages: Sequence[Message]) -> str:
    """What the thread is about, in its opener's words (and the asker's follow-ups that ask)."""
    return " ".join(m.text for m in messages if m.role in ("question", "post"))


def replied_to(messages: Sequence[Message]) -> str:
    """"X's question" / "X's post" for the people cards."""
    first = opener(messages)
    if first is None:
        return "a thread"
    return f"{first.author}'s {'post' if asker(messages) is None else 'question'}"


def asks_back(message: Message) -> bool:
    """A short reply that only asks for more detail ("which version?")."""
    text = message.text.strip()
    return text.endswith("?") and len(words(text)) <= ASK_BACK_WORDS


def credit(messages: Sequence[Message]) -> dict[str, float]:
    """Weight of each answer message (and of an informing opener), by message id (module docstring)."""
    by_id = {m.id: m for m in messages if m.id}
    acked_ids: set[str] = set()
    acked_authors: set[str] = set()
    for m in messages:
        if m.role == "ack":
            parent = by_id.get(m.reply_to or "")
            if parent is not None and parent.role == "answer":
                acked_ids.add(parent.id or "")
            elif m.to:
                acked_authors.add(m.to)
    out: dict[str, float] = {}
    for i, m in enumerate(messages):
        if m.id in out:
            continue  # a later piece of a long message (thread_messages): weighed once, by its start
        if m.role == "post" and m.id:
            if not is_request(m, messages):
                out[m.id] = 1.0  # an informing opener is evidence by its author
            continue
        if m.role != "answer" or not m.id:
            continue
        w = 0.5 if asks_back(m) else 1.0
        later_ack = m.author in acked_authors and any(
            x.role == "ack" and x.to == m.author for x in messages[i + 1:])
        if m.id in acked_ids or later_ack:
            w *= 1.5
        out[m.id] = w
    return out


@dataclass(frozen=True)
class ThreadUnit:
    """One quotable reply of a thread."""

    text: str
    message: Message
    position: int
    weight: float


def answer_units(messages: Sequence[Message], split: Callable[[str], list[str]],
                 *, whole_under_words: int = 60) -> list[ThreadUnit]:
    """The replies to the asker as quotable units: a short message whole, a long one by sentence."""
    weights = credit(messages)
    out: list[ThreadUnit] = []
    done: set[tuple[str | None, str]] = set()
    pos = 0
    for m in messages:
        if m.role == "post" and m.id:
            if is_request(m, messages):
                continue  # the thread's question (question_text): context, never an answer
            # A post informs: its sentences are evidence by its author, except the ones that ask.
            for part in split(strip_furniture(m.text)):
                if not part.rstrip().endswith("?") and (m.id, part) not in done:
                    done.add((m.id, part))
                    out.append(ThreadUnit(text=part, message=m, position=pos, weight=1.0))
                    pos += 1
            continue
        if m.role != "answer" or not m.id:
            continue
        text = strip_furniture(m.text)  # a reply quoted whole is quoted without "On DATE, X wrote:" or signature
        parts = [text] if len(words(text)) <= whole_under_words else split(text)
        for part in parts:
            if part and len(words(part)) >= 1 and (m.id, part) not in done:
                done.add((m.id, part))  # pieces of one long message overlap: a sentence once
                out.append(ThreadUnit(text=part, message=m, position=pos, weight=weights.get(m.id, 1.0)))
                pos += 1
    return out


def thread_messages(chunks: Sequence[Chunk]) -> list[Message]:
    """A thread's messages from its chunks in reading order, each once.

    A message too long for one chunk is stored as pieces that share its id and role; each piece is kept
    (in order), so a long opener is still the question and a long reply is quoted from any of its parts."""
    seen: set[tuple[str, str]] = set()
    full: list[Message] = []
    for x in chunks:
        for m in x.messages:
            key = (m.id or f"{m.author}\x00{m.ts}", m.text)
            if key not in seen:
                seen.add(key)
                full.append(m)
    return full


def expand_threads(hits: list[Hit], fetch: Callable[[str], list[Chunk]], *, limit: int = 3,
                   focus: frozenset[str] = frozenset()) -> list[Hit]:
    """Thread hits carrying the whole thread's messages (one hit per thread, at its best rank).

    Retrieval finds the chunk that matches the question, which in a thread is the question itself; the
    replies that answer it are often in the next chunk. A later chunk of a long thread (its messages carry
    roles but no opener) brings the thread too: read alone it was loose chat, every message in it quotable,
    the asker's too (measured: README, "Latest figures", seventh session). The first ``limit`` threads are
    expanded (an answer leads with one of them; each expansion is a store read), and past them a thread whose
    chunk holds one of the question's ``focus`` terms (stemmed) that none expanded so far asks or answers;
    pages and unstructured chat pass through.
    """
    out: list[Hit] = []
    done: set[str] = set()
    covered: set[str] = set()
    for h in hits:
        c = h.chunk
        past = len(done) >= limit and c.doc_id not in done
        if past and c.messages and (focus - covered) & _stems(f"{c.title} {c.text}"):
            past = False  # it holds what the question is about and the threads before it do not
        if not (c.messages and is_annotated(c.messages)) or past:
            out.append(h)
            continue
        if c.doc_id in done:
            continue
        done.add(c.doc_id)
        full = thread_messages(sorted(fetch(c.doc_id), key=lambda x: x.index) or [c])
        if len(full) > MAX_THREAD_MESSAGES:
            full = list(c.messages)
        covered |= focus & _stems(" ".join([c.title, *(m.text for m in full if m.role in _SAYS)]))
        out.append(h.model_copy(update={"chunk": c.model_copy(update={"messages": tuple(full)})}))
    return out


_SAYS = ("question", "post", "answer")  # the roles whose words a thread asks or answers with


def _stems(text: str) -> set[str]:
    return {stem(w) for w in words(text)}


def where(chunk: Chunk) -> str:
    """'in #channel on DATE' for the people cards."""
    place = ""
    if chunk.channel:
        place = chunk.channel if chunk.channel.startswith("#") else f"#{chunk.channel}"
        if ".mbox" in chunk.source or chunk.source.endswith(".eml"):
            place = f"the {chunk.channel} thread"
    when = f" on {chunk.date[:10]}" if chunk.date else ""
    return (f" in {place}" if place else "") + when

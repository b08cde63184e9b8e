"""Who holds each chunk's knowledge: the credit a profile is built from.

The same association rules as the expert ranking (:mod:`rag.experts`), without a question:

- a page or retro: the authors of the chunk's lines (git blame), else the page's authors; the main
  contributor first, others with decaying weight (1, 1/2, 1/3 ... normalised);
- a thread with an opener: only the people whose *answer* or *post* messages carry it, by the thread credit
  rule (:func:`rag.threads.answer.credit`: acked x1.5, ask-backs x0.5); never the asker, never a bot. The
  whole thread is judged at once (an ack may sit in a later chunk than the answer it confirms) and every
  chunk of the thread carries the thread's shares, so the question's words place the thread in a topic;
- loose chat (a day of unrelated messages): its non-bot authors equally, at half weight;
- a page that names one of its authors as its owner ("Owner: Name", "I inherited ownership") counts
  :data:`OWNER_BOOST` times for them: the sample's documented owners, and any team's, say so in the page.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from rag.people import PeopleDirectory
from rag.profiles.types import EvidenceRole
from rag.threads.answer import asker, credit, is_annotated, opener, replied_to, thread_messages, where
from rag.types import Chunk, Message

LOOSE_CHAT_WEIGHT = 0.5
OWNER_BOOST = 2.0
_OWNER = re.compile(r"(?:^|[.!?][ \t]+)\**Owner(?:[ \t]+of[ \t]+[^:*\n]{1,40})?:\**[ \t]*\**"
                    r"([A-Z][\w'-]+(?:[ \t]+[A-Z][\w'-]+){0,2})", re.MULTILINE)
_OWN_FIRST_PERSON = re.compile(r"\bI(?:'ve| have)?\s+(?:inherited|took over|own|have owned)\b[^.\n]{0,20}?"
                               r"(?:\bownership\b|\bit\b)|\bI\s+own\s+(?:this|the)\b")


@dataclass(frozen=True)
class Credit:
    """One person's share of one chunk's knowledge and how they earned it."""

    chunk: Chunk
    name: str
    weight: float
    role: EvidenceRole
    why: str
    last: str | None


def credits(chunks: Iterable[Chunk], people: PeopleDirectory) -> list[Credit]:
    """Every (chunk, person) credit over ``chunks``. A document counts once, however many chunks it has:
    each chunk carries ``share / chunks of its document``, so a person's credits on a document sum to their
    share of it (a long page does not outweigh several short ones by its length)."""
    chunks = list(chunks)
    sizes: dict[str, int] = defaultdict(int)
    owned: dict[str, set[str]] = defaultdict(set)
    for c in chunks:
        sizes[c.doc_id] += 1
        if not c.messages and c.kind != "retro":  # a retro's "Owner:" owns the retro, not a system
            owned[c.doc_id] |= owners(c.text, people, author=(c.doc_authors or c.authors or ("",))[0])
    out = []
    for cr in _credits(chunks, people):
        weight = cr.weight / sizes[cr.chunk.doc_id]
        if cr.name in owned[cr.chunk.doc_id]:
            cr = replace(cr, why=f"{cr.why} and is named its owner")
            weight *= OWNER_BOOST
        out.append(replace(cr, weight=weight))
    return out


def owners(text: str, people: PeopleDirectory, *, author: str) -> set[str]:
    """People a page names as its owner: "Owner: **Name**", "Owner of the rota: Name" at the start of a line
    or sentence (not "Retro owner:" or an actions table), or its author's "I inherited ownership"."""
    found = {people.canonical(m.group(1)) for m in _OWNER.finditer(text)}
    if author and _OWN_FIRST_PERSON.search(text):
        found.add(people.canonical(author))
    return {n for n in found if _known(n)}


def _credits(chunks: list[Chunk], people: PeopleDirectory) -> list[Credit]:
    threads: dict[str, list[Chunk]] = defaultdict(list)
    out: list[Credit] = []
    for c in chunks:
        # Every chunk of a thread joins it, also a later one with no opener (by its roles): read alone it
        # looked like loose chat and credited everyone in it, the asker too.
        if c.messages and is_annotated(c.messages):
            threads[c.doc_id].append(c)
        elif c.messages:
            out += _loose(c, people)
        else:
            out += _page(c, people)
    for parts in threads.values():
        out += _thread(sorted(parts, key=lambda x: x.index), people)
    return out


def rank_weights(names: Sequence[str]) -> dict[str, float]:
    """Main contributor first: 1, 1/2, 1/3 ... normalised to sum 1 (duplicates keep their first rank)."""
    raw = {n: 1.0 / (i + 1) for i, n in enumerate(dict.fromkeys(names))}
    total = sum(raw.values()) or 1.0
    return {n: w / total for n, w in raw.items()}


def _known(name: str) -> bool:
    return bool(name) and name != "unknown"


def _page(c: Chunk, people: PeopleDirectory) -> list[Credit]:
    names = [n for n in people.canonical_all(c.authors or c.doc_authors) if _known(n)]
    role: EvidenceRole = "retro" if c.kind == "retro" else "page"
    verb = "wrote the retro" if role == "retro" else "wrote"
    return [Credit(chunk=c, name=n, weight=w, role=role, why=f"{verb} '{c.title}'", last=c.date)
            for n, w in rank_weights(names).items()]


def _loose(c: Chunk, people: PeopleDirectory) -> list[Credit]:
    authors = [people.canonical(m.author) for m in c.messages if m.role != "bot"]
    names = [n for n in dict.fromkeys(authors) if _known(n)]
    last = {n: _latest(m for m in c.messages if people.canonical(m.author) == n) for n in names}
    return [Credit(chunk=c, name=n, weight=LOOSE_CHAT_WEIGHT / len(names), role="chat",
                   why=f"took part in the chat{where(c)}", last=last[n] or c.date) for n in names]


def _thread(parts: list[Chunk], people: PeopleDirectory) -> list[Credit]:
    """Shares of a whole thread, carried by each of its chunks."""
    full = thread_messages(parts)
    weights = credit(full)
    who_asked = asker(full)
    first = opener(full)
    best: dict[str, float] = {}
    mine: dict[str, list[Message]] = defaultdict(list)
    for m in full:
        if m.id not in weights or m.author == who_asked or m.role == "bot":
            continue
        name = people.canonical(m.author)
        if not _known(name) or (who_asked and name == people.canonical(who_asked)):
            continue
        best[name] = max(best.get(name, 0.0), weights[m.id])
        mine[name].append(m)
    total = sum(best.values()) or 1.0
    out = []
    for name, w in best.items():
        posted = first is not None and first.role == "post" and people.canonical(first.author) == name
        role: EvidenceRole = "posted" if posted else "answered"
        phrase = "wrote the post" if posted else f"answered {replied_to(full)}"
        for c in parts:
            out.append(Credit(chunk=c, name=name, weight=w / total, role=role, why=f"{phrase}{where(c)}",
                              last=_latest(mine[name]) or c.date))
    return out


def _latest(messages: Iterable[Message]) -> str | None:
    stamps = [m.ts for m in messages if m.ts]
    return max(stamps) if stamps else None

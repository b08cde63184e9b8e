"""Splitting retrieved chunks into quotable units and scoring them against a question."""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.generators.base import Quote
from rag.text import is_heading, key_terms, stem, strip_attributions, strip_furniture, words
from rag.threads.answer import answer_units, is_structured, question_text
from rag.types import Hit

_SENT = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(\[`*_])")
_FENCE = re.compile(r"```.*?```", re.DOTALL)
_ITEM = re.compile(r"^([-*+]|\d+[.)])\s")
# A unit that is nothing but a link ("[Incident severity levels](incident-severity-levels.md)") is
# navigation: it repeats a title the question matches and says nothing.
_LINK_ONLY = re.compile(r"(\[[^\]]*\]\([^)]*\)[\s,;:.]*)+")
# Mail furniture left in archived message text: "On Mon, 10 Aug 2020 at 08:24, X <x at y.org> wrote:" and
# the list software's "[[alternative HTML version deleted]]". Never evidence (devset: quoted as answers).
_FURNITURE = re.compile(r"(?:(?:On|Am|Le|El)\b.{5,240}\b(?:wrote|schrieb|a écrit|escribió)\s*:"
                        r"|\[\[alternative HTML version deleted\]\])\s*", re.IGNORECASE | re.DOTALL)


def split_units(text: str) -> list[str]:
    """Sentences and list items of a passage; headings and empty lines dropped, code kept whole."""
    units: list[str] = []
    text = strip_attributions(text)
    text = _FENCE.sub(lambda m: m.group(0).replace("\n", "\u2028"), text)
    for para in re.split(r"\n\s*\n", text):
        # Segments: each list item (with its wrapped continuation lines) or run of plain lines.
        segments: list[list[str]] = []
        for raw in para.splitlines():
            ln = raw.strip()
            if not ln or is_heading(ln):
                continue
            starts_item = bool(_ITEM.match(ln)) or ln.startswith("|")
            if starts_item or not segments or segments[-1][0].startswith("|"):
                segments.append([ln])
            else:
                segments[-1].append(ln)
        for seg in segments:
            joined = " ".join(seg)
            if joined.startswith("|"):
                units.append(joined)
                continue
            units.extend(s.strip() for s in _SENT.split(joined) if s.strip())
    units = [re.sub(r"^([-*+]|\d+[.)])\s+", "", u) for u in units]
    return [u.replace("\u2028", "\n") for u in units
            if len(words(u)) >= 3 and not _LINK_ONLY.fullmatch(u) and not _FURNITURE.fullmatch(u)]


def query_terms(question: str) -> list[str]:
    """Stemmed key terms of a question."""
    return list(dict.fromkeys(stem(t) for t in key_terms(question)))


def coverage(terms: list[str], text: str, idf: Callable[[str], float]) -> float:
    """IDF-weighted share of the question's key terms found in ``text`` (0..1)."""
    if not terms:
        return 0.0
    present = {stem(w) for w in words(text)}
    total = sum(idf(t) for t in terms)
    return sum(idf(t) for t in terms if t in present) / total if total else 0.0


def candidate_quotes(question: str, hits: list[Hit], idf: Callable[[str], float]) -> list[Quote]:
    """Every unit of every hit, scored by term coverage in context and the hit's retrieval rank.

    A unit's coverage of the question's key terms is averaged with its chunk's (title, section and text):
    the steps of a how-to rarely repeat the question's words, but the passage they stand in does. The
    retrieval prior is by rank, 1 / (1 + rank / 2), not by the fused score, whose reciprocal-rank values
    sit too close together to tell the first passage from the eighth. (Chosen on data/'s gold set over
    the previous score-ratio prior and over either change alone; confirmed on the devset, which played
    no part in the choice: README, "Quote selection".)
    """
    terms = query_terms(question)
    quotes: list[Quote] = []
    for rank, hit in enumerate(hits):
        prior = 1.0 / (1.0 + 0.5 * rank)
        c = hit.chunk
        if c.messages and is_structured(c.messages):
            quotes.extend(_thread_quotes(hit, terms, idf, prior))
            continue
        context = coverage(terms, f"{c.title} {c.section} {c.text}", idf)
        items: list[tuple[str, tuple[str, ...]]]
        if hit.chunk.messages:
            items = [(u, (m.author,)) for m in hit.chunk.messages if m.role != "bot"
                     for u in split_units(strip_furniture(m.text))]
        else:
            items = [(u, hit.chunk.authors or hit.chunk.doc_authors) for u in split_units(hit.chunk.text)]
        for pos, (unit, authors) in enumerate(items):
            cov = coverage(terms, unit, idf)
            n_words = len(words(unit))
            length_pen = 0.15 if n_words < 5 else (0.1 if n_words > 80 else 0.0)
            score = 0.6 * (0.5 * cov + 0.5 * context) + 0.4 * prior - length_pen
            quotes.append(Quote(hit=hit, text=unit, authors=authors, score=score, position=pos))
    return quotes


def _thread_quotes(hit: Hit, terms: list[str], idf: Callable[[str], float], prior: float) -> list[Quote]:
    """The replies to the asker of a thread, scored like page units; the asker's words are never quotes.

    The context is the thread's question (the asker's words): in a real thread the replies rarely repeat
    the question, but they answer the question the thread asks. A thread nobody answered gives nothing.
    """
    c = hit.chunk
    asked = f"{c.title} {question_text(c.messages)}"
    by_id = {m.id: m for m in c.messages if m.id}
    out = []
    for unit in answer_units(c.messages, split_units):
        # A reply to a later message (a follow-up question on the list, the asker's "it still says X") is
        # about that message too.
        parent = by_id.get(unit.message.reply_to or "")
        context = coverage(terms, f"{asked} {parent.text}" if parent is not None else asked, idf)
        cov = coverage(terms, unit.text, idf)
        score = 0.6 * (0.5 * cov + 0.5 * context) + 0.4 * prior
        out.append(Quote(hit=hit, text=unit.text, authors=(unit.message.author,), score=score,
                         position=unit.position, message=unit.message, weight=unit.weight))
    return out

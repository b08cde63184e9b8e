"""Two-part questions: "What are the severity levels and who is the incident commander?".

A question is split where "and" / "or" / "," / ";" / "?" is followed by a new question word and a verb
("who is", "how long", "can I", "what does"). The first side must keep at least two content words and
ask something itself (a question word, or an auxiliary at its start: "After a few years here, can I
..." is one question, not two); the second side needs one content word. Only the first split point
that passes is used, so a question has one or two parts.

A part is covered when the quotes (with their sections, not their page titles) hold every named thing it
mentions, at least half its focus terms, and an answer of the type it asks for (type match >= 0.2,
:func:`rag.answers.types.type_match`: the type in some quote).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.answers.checks import check_quotes
from rag.answers.focus import focus_coverage, named_things
from rag.generators.base import Quote
from rag.text import key_terms

COVERED_FOCUS = 0.5
COVERED_TYPE = 0.2

_SPLIT = re.compile(
    r"(?:\?\s+|,?\s+(?:and|or|but|also)\s+(?:also\s+)?|[;,]\s+)"
    r"(?=(?:who|what|which|when|where|why|how|whom|is|are|can|could|do|does|did|should|will|would|was|"
    r"were|has|have|may|must)(?:'s)?\s+\w)",
    re.IGNORECASE,
)
_ASKS = re.compile(r"\b(?:who|what|which|when|where|why|how|whom)\b|^\s*(?:is|are|can|could|do|does|did|should|will|"
                   r"would|was|were|has|have|may|must|am)\b|,\s*(?:can|could|do|does|should|is|are)\s+(?:i|we)\b",
                   re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    """One part, or the two parts of a two-part question (each without its trailing '?')."""
    q = question.strip()
    for m in _SPLIT.finditer(q):
        first, second = q[: m.start()].strip(" ?,;"), q[m.end():].strip(" ?,;")
        if _ASKS.search(first) and len(key_terms(first)) >= 2 and len(key_terms(second)) >= 1:
            return [first + "?", second[0].upper() + second[1:] + "?"]
    return [q]


def part_covered(part: str, quotes: Sequence[Quote], idf: Callable[[str], float]) -> bool:
    """Do ``quotes`` answer ``part``: every named thing it mentions and half its focus terms or more in the
    quotes or their sections (page titles do not count), and an answer of the type it asks for?"""
    checks = check_quotes(part, quotes, idf, title=False)
    named = named_things(part)
    said = [f"{q.hit.chunk.section} {q.text}" for q in quotes]
    return (checks.focus >= COVERED_FOCUS and checks.type_match >= COVERED_TYPE
            and focus_coverage(named, said) == 1.0)


def uncovered_parts(question: str, quotes: Sequence[Quote], idf: Callable[[str], float]) -> list[str]:
    """The parts of a two-part question that ``quotes`` leave unanswered (none for a one-part question,
    and none when neither part is covered: then the whole question is unanswered, not a part of it)."""
    parts = question_parts(question)
    if len(parts) < 2:
        return []
    missing = [p for p in parts if not part_covered(p, quotes, idf)]
    return missing if len(missing) < len(parts) else []

"""Two-part questions: "What are the severity levels and who is the incident commander?".

A question is split where "and" / "or" / "," / ";" / "?" is followed by a new question word and a verb
("who is", "how long", "can I", "what does"). The first side must keep at least two content words and
ask something itself (a question word, or an auxiliary at its start: "After a few years here, can I
..." is one question, not two); the second side needs one content word. Only the first split point
that passes is used, so a question has one or two parts.
"""

from __future__ import annotations

import re

from rag.text import key_terms

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

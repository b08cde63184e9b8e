"""The focus of a question: the terms an answer cannot do without.

A question's focus is its two rarest content terms (highest IDF in the corpus; a term the corpus
never uses counts as rarest of all) plus every *named thing* it mentions: identifiers (a word with a
digit, an underscore, an inner dot or capitals after its first letter: ``PLAT-702``, ``EKS``,
``external-dns`` is kept by rarity, ``v1.29``) and proper nouns (a capitalised word that does not start
the question). On-topic passages often share a question's common words ("deploy", "token") and miss
the one thing it is about ("Twilio"); focus coverage of the *quoted* text is what tells them apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rag.text import STOPWORDS, key_terms, stem, words

RARE = 2
_TOKEN = re.compile(r"[A-Za-z0-9][\w.'-]*[\w]|[A-Za-z0-9]")
_QUESTION_WORDS = frozenset("what which who whom whose when where why how is are can could do does did should "
                            "will would was were has have may must am".split())


def named_things(question: str) -> list[str]:
    """Identifiers and proper nouns of ``question``, lower-cased and stemmed, in order."""
    out: list[str] = []
    tokens = _TOKEN.findall(question)
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if low in STOPWORDS or low in _QUESTION_WORDS or len(low) < 2:
            continue
        ident = bool(re.search(r"\d|_|[a-z]\.[a-z]|^[A-Z]{2,}|[a-z][A-Z]", tok))
        proper = i > 0 and tok[0].isupper()
        if ident or proper:
            for w in words(tok):
                w = stem(w.strip("'-"))
                if len(w) > 1 and w not in STOPWORDS and w not in out:
                    out.append(w)
    return out


def focus_terms(question: str, idf: Callable[[str], float], *, rare: int = RARE) -> list[str]:
    """The question's rarest ``rare`` stemmed content terms, then its named things (no repeats)."""
    terms = list(dict.fromkeys(stem(t) for t in key_terms(question)))
    rarest = sorted(terms, key=lambda t: (-idf(t), terms.index(t)))[:rare]
    return list(dict.fromkeys([*rarest, *named_things(question)]))


# Words of a who-knows question's form, not of its topic ("Who's the right person for questions about X?").
_WHO_FORM = frozenset(stem(w) for w in "person people right best contact expert owner responsible question "
                      "questions help problem problems".split())


def rarest_focus(question: str, idf: Callable[[str], float]) -> str:
    """The question's rarest focus term (stemmed), what it is most specifically about, leaving out the words of
    a who-knows question's form; "" when it has none."""
    focus = [t for t in focus_terms(question, idf) if t not in _WHO_FORM]
    return max(focus, key=lambda t: (idf(t), t)) if focus else ""


def focus_coverage(focus: list[str], texts: Iterable[str]) -> float:
    """Share of the ``focus`` terms present in ``texts`` (1.0 when there is no focus)."""
    if not focus:
        return 1.0
    present: set[str] = set()
    for text in texts:
        present |= {stem(w) for w in words(text)}
    return sum(1 for t in focus if t in present) / len(focus)

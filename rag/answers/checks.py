"""Does what we would quote answer the question? Two signals for the abstention model.

Retrieval signals describe the passages found; these describe the *quotes chosen from them*:

- ``type_match``: the best :func:`rag.answers.types.type_match` of a chosen quote near the question's
  *rarest* focus term (1.0 when the question expects no particular type, or asks for people: those are
  answered by the expert ranking). Near any focus term was tried first and separated less: on-topic
  passages hold numbers and dates near the question's common words ("cluster", "logs") but not near
  the one it is about ("GPUs", "Pingdom");
- ``type_next``: the same near the *second* focus term. The rarest term is sometimes an incidental word of
  a question's scenario ("is there an *upper* limit", "what are we *supposed* to ..."), which no answer
  repeats; as a signal of its own beside ``type_match`` (not merged into it: near either term, the
  near-misses rose as much as the answerable questions) it lets the model see the answer type next to the
  question's other specific term;
- ``focus``: the share of the question's focus terms (:func:`rag.answers.focus.focus_terms`) found in the
  chosen quotes with their page titles and sections (a thread reply: with the question it replies to).
  A rare term found only in a part of the passage that is not quoted does not count: it is not in the
  answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.answers.focus import focus_coverage, focus_terms
from rag.answers.types import AnswerType, expected_type, type_match
from rag.generators.base import Quote
from rag.threads.answer import question_text

_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)")


@dataclass(frozen=True)
class QuoteChecks:
    """How well a set of quotes answers a question."""

    expected: AnswerType | None
    type_match: float
    focus: float
    type_next: float = 0.0


def quote_context(q: Quote, *, title: bool = True) -> str:
    """What a quote stands under: its page title (unless ``title`` is False) and section; for a reply in a
    thread also the question it replies to (the opener and the asker's follow-ups that ask): a reply
    addressed to the asker is about the asker's question even when it does not repeat its words."""
    c = q.hit.chunk
    head = f"{c.title} {c.section}" if title else c.section
    if q.message is not None and q.message.role == "answer":
        head = f"{head} {question_text(c.messages)}"
    return head


def check_quotes(question: str, quotes: Sequence[Quote], idf: Callable[[str], float], *,
                 people_question: bool = False, title: bool = True) -> QuoteChecks:
    """Answer-type match (near the first and the second focus term) and focus coverage of ``quotes`` for
    ``question`` (no quotes: all 0).

    ``title=False`` leaves page titles out of the quotes' context: a part of a question is not answered
    by a quote that merely stands on a page whose title names it."""
    kind = None if people_question else expected_type(question)
    if not quotes:
        return QuoteChecks(expected=kind, type_match=0.0, focus=0.0, type_next=0.0)
    focus = focus_terms(question, idf)
    # each quote's context and shape once: both type signals and the coverage read them
    seen = [(q.text, quote_context(q, title=title), is_item(q), q.message is not None and q.message.role == "answer")
            for q in quotes]

    def best(near: list[str]) -> float:
        return max(type_match(kind, text, focus=near, context=context, is_item=item, reply=reply)
                   for text, context, item, reply in seen)

    first = best(focus[:1])
    cov = focus_coverage(focus, [f"{context} {text}" for text, context, _, _ in seen])
    return QuoteChecks(expected=kind, type_match=first, focus=cov,
                       type_next=best(focus[1:2]) if len(focus) > 1 else first)


def is_item(q: Quote) -> bool:
    """Was the quote a list item or table row in its passage (a list or steps answer by structure)?"""
    text = q.text.lstrip()
    if text.startswith("|") or _ITEM.match(text):
        return True  # a table row, or a list item (a list quoted whole starts with its first item's marker)
    head = text[:40]
    return any((m := _ITEM.match(line)) is not None and m.group(1).startswith(head)
               for line in q.hit.chunk.text.splitlines())

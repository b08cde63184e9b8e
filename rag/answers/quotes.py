"""Quote shapes for pages (wiki, retro): what a chosen sentence needs around it to answer.

- The quote that holds the expected answer type leads (:func:`type_bonus` raises its score).
- A list item, when the question asks for steps or "what are the ...", becomes its whole list, in order,
  up to :data:`MAX_ITEMS` items and :data:`MAX_WORDS` words ("..." marks a cut); a list the chunker cut
  is joined again with its items in the chunk before.
- A table row comes with its table's header row, so "| 5 | notify-svc reloads ... |" says what its cells are.
- A sentence that only announces ("We use three severities.", "... as follows:") pulls in the block that
  follows it (the list, table, code block or next sentences), under the same caps.

Thread quotes (``Quote.message`` set) are left as they are: :mod:`rag.threads` shapes those.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rag.answers.focus import focus_terms
from rag.answers.types import AnswerType, contains_type, expected_type, type_match
from rag.generators.base import Quote
from rag.text import is_heading
from rag.types import Chunk

MAX_ITEMS = 12
MAX_WORDS = 160
TYPE_BONUS = 0.1
_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_NUMBER_WORDS = r"(?:two|three|four|five|six|seven|eight|nine|ten|\d+)"
_ANNOUNCES = re.compile(
    rf":\s*$|\b(?:as\s+follows|the\s+following)\b|\b(?:we|you|there)\s+(?:use|have|are|need|keep|run)\s+"
    rf"(?:\w+\s+){{0,2}}?{_NUMBER_WORDS}\s+[\w-]+s?\b[^.]*\.?$",
    re.IGNORECASE,
)
_WHOLE_LIST = {AnswerType.STEPS, AnswerType.LIST}


@dataclass(frozen=True)
class Block:
    """A run of a passage: a list (its item lines), a table (its rows) or a paragraph (its lines)."""

    kind: str  # "list" | "table" | "para" | "code"
    lines: tuple[str, ...]

    def flat(self) -> str:
        """The block as one whitespace-normalised string without list markers (for finding a unit)."""
        return _norm(" ".join(_ITEM.sub("", ln) for ln in self.lines))


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def blocks(text: str) -> list[Block]:
    """The passage cut into lists, tables and paragraphs.

    A blank line ends a paragraph but not a list or table (loose lists); a heading ends any block. A line
    after an item that is not itself an item continues that item, and a code fence inside a list stays
    with its item (the commands of a step are part of the step)."""
    out: list[Block] = []
    kind = ""
    lines: list[str] = []
    fence = prev_blank = False

    def close() -> None:
        nonlocal kind, lines
        if lines:
            out.append(Block(kind, tuple(lines)))
        kind, lines = "", []

    for raw in text.splitlines():
        ln = raw.strip()
        if ln.startswith("```") or fence:
            opening = not fence
            fence = fence != ln.startswith("```")
            if kind == "list":
                lines[-1] += "\n" + raw.rstrip()
            else:
                # A code block of its own (the command an announcing sentence introduces).
                if opening:
                    close()
                    kind = "code"
                lines.append(raw.rstrip())
                if not fence:
                    close()
            continue
        if not ln:
            if kind == "para":
                close()
            prev_blank = True
            continue
        if is_heading(ln):
            close()
            continue
        if ln.startswith("|"):
            new = "table"
        elif _ITEM.match(ln):
            new = "list"
        elif kind == "list" and (raw[:1].isspace() or not prev_blank):
            lines[-1] += " " + ln
            prev_blank = False
            continue
        else:
            new = "para"
        if new != kind:
            close()
            kind = new
        lines.append(ln)
        prev_blank = False
    close()
    return out


def _capped(lines: Sequence[str]) -> str:
    kept: list[str] = []
    n_words = 0
    for ln in lines[:MAX_ITEMS]:
        n_words += len(ln.split())
        if kept and n_words > MAX_WORDS:
            break
        kept.append(ln)
    return "\n".join(kept) + ("\n..." if len(kept) < len(lines) else "")


_SEPARATOR = re.compile(r"^\|[\s:|-]+\|$")


def _header(block: Block, *, first: bool, chunk: Chunk, known: Sequence[Chunk]) -> str | None:
    """The header row of the table ``block`` is part of: its own first row, or - when the chunker cut the
    table and this chunk starts mid-table - the header of the table that ends the chunk before it."""
    if len(block.lines) > 1 and _SEPARATOR.match(block.lines[1]):
        return block.lines[0]
    before = [c for c in known if c.doc_id == chunk.doc_id and c.index == chunk.index - 1]
    if before and first:  # the table starts the chunk (after at most a cut row)
        tables = [b for b in blocks(before[0].text) if b.kind == "table"]
        if tables and len(tables[-1].lines) > 1 and _SEPARATOR.match(tables[-1].lines[1]):
            return tables[-1].lines[0]
    return None


_CUT_MARKER = re.compile(r"\s(\d+[.)])$")


def _list_before(chunk: Chunk, bs: list[Block], at: int, known: Sequence[Chunk]) -> list[str]:
    """The items before a list the chunker cut: when the list at ``at`` starts its chunk (after at most the
    rest of the item the cut went through), the list that ends the chunk before it, that item made whole
    again ("3. ... 4." + "Do a dry-run." -> "4. Do a dry-run."). Nothing when the list is not cut."""
    if at > 1 or (at == 1 and (bs[0].kind != "para" or len(bs[0].lines) > 1)):
        return []
    first = next((ln.strip() for ln in chunk.text.splitlines() if ln.strip()), "")
    before = [c for c in known if c.doc_id == chunk.doc_id and c.index == chunk.index - 1
              and c.section == chunk.section]
    prev = blocks(before[0].text) if before and not is_heading(first) else []
    if not prev or prev[-1].kind != "list":
        return []
    lines = list(prev[-1].lines)
    if at == 1:  # only when the cut went through the item's marker: else the paragraph introduces the list
        if not (m := _CUT_MARKER.search(lines[-1])):
            return []
        lines[-1] = lines[-1][: m.start()]
        lines.append(f"{m.group(1)} {bs[0].lines[0]}")
    own = {_norm(ln) for ln in bs[at].lines}  # the chunks' overlap repeats items
    return [ln for ln in lines if _norm(ln) not in own]


def _find(bs: list[Block], unit: str) -> int | None:
    key = _norm(_ITEM.sub("", unit))[:80]
    for i, b in enumerate(bs):
        if key and key in b.flat():
            return i
    return None


def _following_sections(chunk: Chunk, known: Sequence[Chunk]) -> list[str]:
    """'Section: first sentence' of each chunk that directly follows ``chunk`` in its document."""
    later = sorted({c.index: c for c in known if c.doc_id == chunk.doc_id and c.index > chunk.index}.items())
    out, expect = [], chunk.index + 1
    for index, c in later:
        if index != expect:
            break
        first = next((b for b in blocks(c.text) if b.kind == "para"), None)
        sentence = re.split(r"(?<=[.!?])\s", first.lines[0])[0] if first else ""
        out.append(f"{c.section}: {sentence}".strip(": "))
        expect += 1
    return out


def shape(question: str, quote: Quote, known: Sequence[Chunk] = ()) -> Quote:
    """``quote`` with what it needs around it (module docstring); thread quotes unchanged.

    ``known`` are other chunks at hand (retrieved, or the quote's whole document): a table cut by the
    chunker finds its header in the chunk before, an announcing sentence that ends its chunk pulls in the
    sections of the chunks after it."""
    if quote.message is not None:
        return quote
    chunk = quote.hit.chunk
    bs = blocks(chunk.text)
    at = _find(bs, quote.text)
    if at is None:
        return quote
    block, kind = bs[at], expected_type(question)
    row = quote.text.strip()
    if block.kind == "table" and row.startswith("|"):
        cut = all(b.kind != "table" and len(b.lines) == 1 and "|" in b.lines[0] for b in bs[:at])
        head = _header(block, first=cut, chunk=chunk, known=known)
        return replace(quote, text=f"{head}\n{row}") if head and _norm(head) != _norm(row) else quote
    if block.kind == "list" and kind in _WHOLE_LIST and _is_steps_list(block, kind):
        lines = [*_list_before(chunk, bs, at, known), *block.lines]
        if len(lines) > 1:
            return replace(quote, text=_capped(lines))
    if block.kind == "para" and _announces(quote.text):
        if at + 1 < len(bs):
            nxt = bs[at + 1]
            follow = list(nxt.lines if nxt.kind != "para" else nxt.lines[:3])
            # "these two commands:" counts commands, not the lines of the code block that holds them
            count = len(follow) if nxt.kind == "code" else _count(row)
        else:
            follow, count = _following_sections(chunk, known), _count(row)
        if follow:
            return replace(quote, text=row + "\n" + _capped(follow[: count or MAX_ITEMS]))
    return quote


def _is_steps_list(block: Block, kind: AnswerType | None) -> bool:
    """A list answers a steps question when it is numbered or its items start with a verb; a timeline
    ("- **09:12** Cause identified") does not. Any list answers a 'what are the ...' question."""
    if kind is not AnswerType.STEPS:
        return True
    return any(re.match(r"^\d+[.)]\s", ln) or contains_type(AnswerType.STEPS, _ITEM.sub("", ln))
               for ln in block.lines[:3])


_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}


def _count(sentence: str) -> int | None:
    """How many things an announcing sentence says follow ("We use three severities." -> 3)."""
    m = re.search(rf"\b{_NUMBER_WORDS}\b", sentence, re.IGNORECASE)
    if not m:
        return None
    word = m.group(0).lower()
    return int(word) if word.isdigit() else _COUNTS.get(word)


def _announces(text: str) -> bool:
    """A sentence that only announces what follows: ends with ':', says 'as follows', or counts things."""
    return bool(_ANNOUNCES.search(text.strip()))


def _lines_key(text: str) -> str:
    return _norm(" ".join(_ITEM.sub("", ln) for ln in text.splitlines()))


def shape_all(question: str, quotes: list[Quote], known: Sequence[Chunk] = ()) -> list[Quote]:
    """Every quote shaped; a quote already inside another shaped quote of its chunk is dropped."""
    out: list[Quote] = []
    for q in (shape(question, q, known) for q in quotes):
        key = _lines_key(q.text)
        if not any(o.hit.chunk.chunk_id == q.hit.chunk.chunk_id and key in _lines_key(o.text) for o in out):
            out.append(q)
    return out


def type_bonus(question: str, quotes: list[Quote], idf: Callable[[str], float]) -> list[Quote]:
    """Page quotes scored up by ``TYPE_BONUS`` x their answer-type match: the one with the answer leads."""
    kind = expected_type(question)
    if kind is None:
        return quotes
    focus = focus_terms(question, idf)
    out = []
    for q in quotes:
        if q.message is None:
            context = f"{q.hit.chunk.title} {q.hit.chunk.section}"
            q = replace(q, score=q.score + TYPE_BONUS * type_match(kind, q.text, focus=focus, context=context))
        out.append(q)
    return out

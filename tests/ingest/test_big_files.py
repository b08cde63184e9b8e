"""A big single-line text costs work in proportion to its size (issue 11, item 6).

The chunker once handed a whole section to the sentence splitter, which counts tokens over all of it and runs
nltk's sentence regex over all of it (that regex gives up after 5 s: an 8 MB line failed the run); the
plain-text loader let unstructured run spaCy over a 1M-character paragraph (about 3 GB). The work is checked by
counting what each step is given, never by timing."""

from __future__ import annotations

import random
import re

import pytest

from ingest.chunking import WINDOW_CHARS, Chunker, windows
from ingest.loaders.files import HUGE_PARAGRAPH_CHARS
from ingest.pipeline import ingest
from rag.types import Document
from tests.ingest.helpers import by_source, stored_chunks, write

_WORD = re.compile(r"\w+")
_WORDS = ["queue", "worker", "restart", "deploy", "token", "rotate", "the", "a", "of", "node", "drain", "and"]


def one_line(chars: int, *, seed: int = 1) -> str:
    """A single line of words with a sentence end now and then, ``chars`` long."""
    rng = random.Random(seed)
    words: list[str] = []
    size = 0
    while size < chars:
        w = rng.choice(_WORDS) + ("." if rng.random() < 0.05 else "")
        words.append(w)
        size += len(w) + 1
    return " ".join(words)[:chars]


class CountingTokens:
    """A real token counter (1.3 per word, as the hashing embedder counts) that records what it was given."""

    def __init__(self) -> None:
        self.calls = 0
        self.chars = 0
        self.longest = 0

    def __call__(self, text: str) -> int:
        self.calls += 1
        self.chars += len(text)
        self.longest = max(self.longest, len(text))
        return int(len(_WORD.findall(text)) * 1.3) + 1


def chunk_counted(text: str, **doc: object) -> tuple[list, CountingTokens]:
    counter = CountingTokens()
    d = Document(doc_id="d", source="big.txt", title="Big", kind="wiki", format="text", text=text, **doc)
    return Chunker(count_tokens=counter, chunk_tokens=200, overlap=30).chunk(d), counter


def test_a_2_mb_single_line_is_chunked_in_bounded_pieces_with_linear_work() -> None:
    small, big = one_line(1_000_000), one_line(2_000_000)

    chunks_small, c_small = chunk_counted(small)
    chunks_big, c_big = chunk_counted(big)

    # No step sees more than a window (before: the whole 2 MB line, counted and regex-scanned at once).
    assert c_big.longest <= WINDOW_CHARS
    # Linear: twice the text, about twice the counting - not four times.
    assert c_big.chars <= 4 * len(big)
    assert 1.7 <= c_big.calls / c_small.calls <= 2.3 and 1.7 <= len(chunks_big) / len(chunks_small) <= 2.3
    # Nothing lost: every passage is the document's own text, and the passages reach its last words.
    assert all(c.text in big for c in chunks_big[:50] + chunks_big[-50:])
    assert big.rstrip()[-40:].strip() in chunks_big[-1].text
    assert chunks_big[0].text.startswith(big[:40])


def test_windows_cut_at_sentence_ends_and_join_back_to_the_text() -> None:
    text = one_line(350_000)
    parts = windows(text, WINDOW_CHARS)
    assert "".join(parts) == text and len(parts) == 4
    assert all(len(p) <= WINDOW_CHARS for p in parts) and all(p.endswith(". ") for p in parts[:-1])
    assert windows("short", WINDOW_CHARS) == ["short"]
    assert windows("x" * 250, 100) == ["x" * 100, "x" * 100, "x" * 50]  # no white space: a hard cut


def test_line_authors_stay_right_deep_into_a_long_page() -> None:
    # 30,000 lines; git blame credits the first half to Ann and the second to Bob.
    lines = [f"Line {i} of the runbook says to drain node {i} before patching it." for i in range(30_000)]
    text = "\n".join(lines)
    authors = tuple(["Ann Lee"] * 15_000 + ["Bob Stone"] * 15_000)
    chunks, _ = chunk_counted(text, authors=("Ann Lee", "Bob Stone"), line_authors=authors)
    first = next(c for c in chunks if "Line 100 " in c.text)
    late = next(c for c in chunks if "Line 29000 " in c.text)
    assert first.authors[0] == "Ann Lee" and late.authors[0] == "Bob Stone"


@pytest.mark.slow
def test_a_2_mb_single_line_txt_file_is_stored_whole(corpus, settings, monkeypatch) -> None:
    import unstructured.partition.text as ut

    seen: list[int] = []
    original = ut.element_from_text

    def counting(text: str, *args: object, **kwargs: object) -> object:
        seen.append(len(text))
        return original(text, *args, **kwargs)

    monkeypatch.setattr(ut, "element_from_text", counting)  # unstructured's classifier, where spaCy runs
    big = one_line(2_000_000, seed=7)
    write(corpus, "notes/dump.txt", "Dump notes\n\n" + big + "\n\nSigned off by the platform team.\n")
    write(corpus, "wiki/runbook.md", "# Runbook\n\nRestart the queue worker after each deploy.\n")

    summary = ingest(corpus, settings)

    assert summary.failed == [] and summary.files.stored == 2
    chunks = by_source(stored_chunks(settings))["notes/dump.txt"]
    assert len(chunks) > 2_000_000 // 1500
    assert big[:40] in chunks[0].text + chunks[1].text and "Signed off by the platform team." in chunks[-1].text
    # The paragraphs of ordinary size still went through unstructured; the 2 MB one did not.
    assert seen and max(seen) <= HUGE_PARAGRAPH_CHARS

"""Documents to chunks through llama-index node parsers: heading-aware for pages, message windows for
threads. llama-index types stay inside this module."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from llama_index.core import Document as LIDocument
from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter

from ingest.ids import ChunkIds
from rag.types import Chunk, Document, Message

CountTokens = Callable[[str], int]

# The sentence splitter counts and regex-scans its whole input several times, and nltk's sentence regex gives
# up after 5 s (a TimeoutError): a 50 MB single-line text would fail, and count tokens over 50 MB at once.
# A section longer than this is cut into windows first (at a sentence end or white space), so every call sees
# a bounded text and the work grows linearly with the text. Shorter sections are split as before.
WINDOW_CHARS = 100_000
# How far past the previous passage the next one may start (white space between sections, a heading line).
_SEARCH_SLACK = 4096


class Chunker:
    """Splits documents into chunks that fit the embedding model's window."""

    def __init__(self, *, count_tokens: CountTokens, chunk_tokens: int = 200, overlap: int = 30) -> None:
        self.count_tokens = count_tokens
        self.chunk_tokens = chunk_tokens
        self._markdown = MarkdownNodeParser(include_prev_next_rel=False)
        self._splitter = SentenceSplitter(
            chunk_size=chunk_tokens, chunk_overlap=overlap, tokenizer=lambda s: [0] * count_tokens(s)
        )

    def chunk(self, doc: Document) -> list[Chunk]:
        """All chunks of ``doc``, in reading order, each with the authors of its own lines."""
        pieces = self._thread_pieces(doc) if doc.messages else self._page_pieces(doc)
        chunks: list[Chunk] = []
        ids = ChunkIds(doc.doc_id)
        content_hash = doc.content_hash  # a property hashing the whole text: once, not once per chunk
        for i, (section, text, authors, messages) in enumerate(pieces):
            chunks.append(Chunk(
                chunk_id=ids.next(section, text),
                doc_id=doc.doc_id, index=i, text=text, section=section, authors=authors,
                messages=messages, title=doc.title, kind=doc.kind, source=doc.source, paths=doc.paths,
                url=doc.url, date=doc.date, channel=doc.channel, access=doc.access,
                doc_authors=doc.authors, content_hash=content_hash,
            ))
        return chunks

    # -- pages -------------------------------------------------------------------------------
    def _page_pieces(self, doc: Document) -> list[tuple[str, str, tuple[str, ...], tuple[Message, ...]]]:
        nodes = self._markdown.get_nodes_from_documents([LIDocument(text=doc.text)])
        out: list[tuple[str, str, tuple[str, ...], tuple[Message, ...]]] = []
        pending, pending_section = "", ""
        cursor = _Cursor(doc)
        for node in nodes:
            text = node.get_content().strip()
            lines = text.splitlines()
            heading = lines[0].lstrip("#").strip() if lines and lines[0].startswith("#") else ""
            body = "\n".join(lines[1:]).strip() if heading else text
            parents = [p for p in str(node.metadata.get("header_path", "")).strip("/").split("/") if p]
            parts_ = [*parents, heading] if heading else parents
            if parts_ and parts_[0].strip().casefold() == doc.title.strip().casefold():
                parts_ = parts_[1:]  # the page title heading adds nothing to a section path
            section = " > ".join(parts_)
            if not body:
                # A heading with nothing under it joins the next section. Several in a row all join
                # (unstructured turns one-sentence paragraphs of plain text into titles).
                pending = f"{pending}\n\n{text}" if pending else text
                pending_section = pending_section or section
                continue
            if pending:
                text, pending = pending + "\n\n" + text, ""
            self._add_parts(doc, section, text, cursor, out)
        if pending:  # trailing headings with no body are still text someone wrote
            self._add_parts(doc, pending_section, pending, cursor, out)
        return out

    def _add_parts(self, doc: Document, section: str, text: str, cursor: _Cursor,
                   out: list[tuple[str, str, tuple[str, ...], tuple[Message, ...]]]) -> None:
        for part in self._split(text):
            start = cursor.locate(part)
            out.append((section, part, self._line_authors(doc, start, part, cursor), ()))

    def _split(self, text: str) -> list[str]:
        """``text`` as passages of at most ``chunk_tokens``, splitting at most ``WINDOW_CHARS`` at a time."""
        parts: list[str] = []
        for window in windows(text, WINDOW_CHARS):
            parts += [window] if self.count_tokens(window) <= self.chunk_tokens else self._splitter.split_text(window)
        return parts

    def _line_authors(self, doc: Document, start: int, text: str, cursor: _Cursor) -> tuple[str, ...]:
        """Authors of the lines this passage spans (git blame), else the document's authors."""
        if not doc.line_authors or start < 0:
            return doc.authors
        first = cursor.line_of(start)
        last = first + text.count("\n") + 1
        counts = Counter(a for a in doc.line_authors[first:last] if a)
        ranked = tuple(a for a, _ in counts.most_common())
        rest = tuple(a for a in doc.authors if a not in ranked)
        return ranked + rest if ranked else doc.authors

    # -- threads -----------------------------------------------------------------------------
    def _thread_pieces(self, doc: Document) -> list[tuple[str, str, tuple[str, ...], tuple[Message, ...]]]:
        out = []
        window: list[Message] = []
        used = 0

        def flush() -> None:
            nonlocal window, used
            if window:
                text = "\n".join(f"{m.author}: {m.text}" for m in window)
                authors = tuple(dict.fromkeys(m.author for m in window))
                out.append(("", text, authors, tuple(window)))
            window, used = [], 0

        for msg in doc.messages:
            n = self.count_tokens(msg.text) + 4
            if n > self.chunk_tokens:
                flush()
                for part in [p for w in windows(msg.text, WINDOW_CHARS) for p in self._splitter.split_text(w)]:
                    # Each piece keeps the message's id, reply link and role: the opener of a thread
                    # whose first message is long is still its question (rag.threads.answer).
                    window = [msg.model_copy(update={"text": part})]
                    flush()
                continue
            if used + n > self.chunk_tokens:
                flush()
            window.append(msg)
            used += n
        flush()
        return out


def windows(text: str, size: int) -> list[str]:
    """``text`` in consecutive pieces of at most ``size`` characters (``text`` itself when it fits), each cut
    after the last sentence end, else line break, else space in its second half; joined, they are ``text``."""
    if len(text) <= size:
        return [text]
    out: list[str] = []
    start = 0
    while len(text) - start > size:
        end = start + size
        cut = -1
        for sep in (". ", "\n", " "):
            cut = text.rfind(sep, start + size // 2, end)
            if cut >= 0:
                cut += len(sep)
                break
        cut = cut if cut > start else end
        out.append(text[start:cut])
        start = cut
    out.append(text[start:])
    return out


class _Cursor:
    """Where in the document text the passages found so far start, and the line count up to there.

    Passages come in reading order, so both searches go forward from the last one and stay bounded: each
    passage is looked for near the previous one (overlap puts it inside the previous passage), never
    through the rest of the document, and newlines are counted once."""

    def __init__(self, doc: Document) -> None:
        self.text = doc.text
        self.pos = 0
        self.reach = 0  # where the previous passage ended
        self._line_pos = self._line = 0

    def locate(self, part: str) -> int:
        """Start of ``part`` in the document (-1 when not found nearby, e.g. the splitter dropped a character)."""
        head = part[:60]
        start = self.text.find(head, self.pos, max(self.reach, self.pos) + _SEARCH_SLACK + len(head))
        if start >= 0:
            self.pos, self.reach = start, start + len(part)
        else:
            self.reach = max(self.reach, self.pos) + len(part)  # keep the search window moving past it
        return start

    def line_of(self, pos: int) -> int:
        """0-based line number of character ``pos`` (counted on from the last call when moving forward)."""
        if pos < self._line_pos:
            self._line_pos = self._line = 0
        self._line += self.text.count("\n", self._line_pos, pos)
        self._line_pos = pos
        return self._line

"""Documents to chunks through llama-index node parsers: heading-aware for pages, message windows for
threads. llama-index types stay inside this module."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from llama_index.core import Document as LIDocument
from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter

from rag.types import Chunk, Document, Message, stable_hash

CountTokens = Callable[[str], int]


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
        seen: Counter[str] = Counter()
        content_hash = doc.content_hash  # a property hashing the whole text: once, not once per chunk
        for i, (section, text, authors, messages) in enumerate(pieces):
            key = stable_hash(doc.doc_id, section, text)
            seen[key] += 1
            chunks.append(Chunk(
                chunk_id=f"{doc.doc_id}-{stable_hash(key, str(seen[key]), length=12)}",
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
        cursor = 0
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
            cursor = self._add_parts(doc, section, text, cursor, out)
        if pending:  # trailing headings with no body are still text someone wrote
            self._add_parts(doc, pending_section, pending, cursor, out)
        return out

    def _add_parts(self, doc: Document, section: str, text: str, cursor: int,
                   out: list[tuple[str, str, tuple[str, ...], tuple[Message, ...]]]) -> int:
        parts = [text] if self.count_tokens(text) <= self.chunk_tokens else self._splitter.split_text(text)
        for part in parts:
            start = doc.text.find(part[:60], cursor)
            if start >= 0:
                cursor = start
            out.append((section, part, self._line_authors(doc, start, part), ()))
        return cursor

    def _line_authors(self, doc: Document, start: int, text: str) -> tuple[str, ...]:
        """Authors of the lines this passage spans (git blame), else the document's authors."""
        if not doc.line_authors or start < 0:
            return doc.authors
        first = doc.text.count("\n", 0, start)
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
                for part in self._splitter.split_text(msg.text):
                    window = [Message(author=msg.author, text=part, ts=msg.ts)]
                    flush()
                continue
            if used + n > self.chunk_tokens:
                flush()
            window.append(msg)
            used += n
        flush()
        return out

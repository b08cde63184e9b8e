"""Document and chunk ids.

A document's id is a hash of its corpus root's id and its source (the path from that root, with ``#anchor``
for a thread), so two corpora ingested into one data dir keep ``wiki/handbook.md`` apart. A root's id is a hash
of its absolute path, recorded in the ledger when its first document is written: the same folder always gets
the same ids (a lost ledger does not duplicate a store), and a folder moved elsewhere is a new corpus.

A chunk's id is its document's id, then a hash of its section, its text and how many identical passages came
before it in the document: an unchanged passage keeps its id, and so its vector, when the page around it changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rag.types import Chunk, stable_hash


def root_id(root: str) -> str:
    """The id of the corpus root at absolute path ``root``."""
    return stable_hash("corpus-root", root, length=12)


def document_id(root: str, source: str) -> str:
    """The id of the document at ``source`` in the corpus whose root id is ``root``."""
    return stable_hash(root, source)


def legacy_document_id(source: str) -> str:
    """The id stores written before corpus-root ids gave the same document (the source alone)."""
    return stable_hash(source)


def chunk_id(doc_id: str, section: str, text: str, occurrence: int) -> str:
    """The id of a document's ``occurrence``-th (from 1) passage with this section and text."""
    key = stable_hash(doc_id, section, text)
    return f"{doc_id}-{stable_hash(key, str(occurrence), length=12)}"


class ChunkIds:
    """Ids for one document's passages in reading order (counting repeats of the same passage)."""

    def __init__(self, doc_id: str) -> None:
        self.doc_id = doc_id
        self._seen: Counter[tuple[str, str]] = Counter()

    def next(self, section: str, text: str) -> str:
        """The id of the next passage."""
        self._seen[(section, text)] += 1
        return chunk_id(self.doc_id, section, text, self._seen[(section, text)])


def rekeyed(chunks: Iterable[Chunk], doc_id: str) -> list[Chunk]:
    """``chunks`` of one document, in reading order, as the chunker would have made them under ``doc_id``."""
    ids = ChunkIds(doc_id)
    return [c.model_copy(update={"doc_id": doc_id, "chunk_id": ids.next(c.section, c.text)}) for c in chunks]

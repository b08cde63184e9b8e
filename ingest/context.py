"""What every loader needs to know about the corpus it reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.access import AccessRules
from ingest.authors import GitHistory
from rag.people import PeopleDirectory
from rag.types import Document


@dataclass
class Failure:
    """A file that could not be ingested, and why."""

    path: str
    reason: str


@dataclass
class LoadResult:
    """Documents read from one source unit, plus the files of it that failed."""

    documents: list[Document] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


@dataclass
class LoadContext:
    """Corpus-wide facts: its root, the people directory, the authorship sidecar, git history."""

    root: Path
    people: PeopleDirectory
    sidecar: dict[str, dict]
    git: GitHistory | None = None
    default_access: str = "public"
    access_rules: AccessRules | None = None

    def access_for(self, source: str, *, declared: Sequence[str] = (), from_source: Sequence[str] = ()
                   ) -> tuple[str, ...]:
        """The groups that may read the document at ``source`` (precedence in ``ingest.access``)."""
        rules = self.access_rules or AccessRules(default=(self.default_access,))
        return rules.resolve(source, declared=declared, from_source=from_source)

    def rel(self, path: Path) -> str:
        """Path relative to the corpus root, with forward slashes (the source id of a file)."""
        return path.resolve().relative_to(self.root.resolve()).as_posix()


RETRO_DIRS = {"retro", "retros", "retrospective", "retrospectives", "postmortem", "postmortems",
              "post-mortem", "post-mortems", "incident", "incidents", "incident-reports"}
RETRO_TYPES = {"retro", "retrospective", "postmortem", "post-mortem", "incident", "incident-report"}


def detect_kind(rel: str, front: dict) -> str:
    """'retro' when the folder or front matter says so, else 'wiki'."""
    declared = str(front.get("type") or front.get("kind") or "").strip().lower()
    if declared in RETRO_TYPES:
        return "retro"
    tags = front.get("tags") or []
    if isinstance(tags, list) and any(str(t).lower() in RETRO_TYPES for t in tags):
        return "retro"
    parts = [p.lower() for p in rel.split("/")[:-1]]
    return "retro" if any(p in RETRO_DIRS for p in parts) else "wiki"


def decode_text(data: bytes, path: str) -> str:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16 with a BOM, else cp1252; binary content is refused."""
    from rag.errors import ParseError

    encodings: tuple[str, ...] = ("utf-8-sig", "cp1252")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark (Windows editors)
        encodings = ("utf-16",)
    elif b"\x00" in data[:8192]:
        raise ParseError(f"{path}: binary content (NUL bytes), not a text document")
    for enc in encodings:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        ctrl = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\n\r\t\f")
        if ctrl > 8:
            raise ParseError(f"{path}: binary content (control characters), not a text document")
        return text
    raise ParseError(f"{path}: not UTF-8, UTF-16 or cp1252 text")

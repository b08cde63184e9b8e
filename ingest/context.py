"""What every loader needs to know about the corpus it reads."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from ingest.access import NO_READER, AccessRules, parse_declared
from ingest.authors import GitHistory
from rag.people import PeopleDirectory
from rag.threads import DEFAULT_BOTS
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
    bots: tuple[str, ...] = DEFAULT_BOTS
    # Documents stored, but not as declared (a refused access declaration); the pipeline reports them.
    problems: list[Failure] = field(default_factory=list)
    # Unpacked archives (real folder -> the archive's path in the corpus), see ingest.archives.
    mounts: dict[Path, str] = field(default_factory=dict)
    # Paths discovery refused (FIFOs, links out of the root, over the size cap): loaders that walk a folder
    # themselves (a Slack export) leave them alone.
    refused: set[Path] = field(default_factory=set)
    # Git repositories inside the corpus (their real folder -> history): their files' authors come from them.
    nested_git: dict[Path, GitHistory] = field(default_factory=dict)

    def git_for(self, file: Path) -> GitHistory | None:
        """The history that knows ``file``: the innermost git repository inside the corpus holding it, else the
        corpus's own."""
        real = file.resolve()
        inner = [base for base in self.nested_git if base in real.parents]
        return self.nested_git[max(inner, key=lambda b: len(b.parts))] if inner else self.git

    def access_for(self, source: str, *, declared: object = None, from_source: Sequence[str] = ()
                   ) -> tuple[str, ...]:
        """The groups that may read the document at ``source`` (precedence in ``ingest.access``).

        ``declared`` is the document's own ``access`` value as written. One that is not a group name or
        a list of them is recorded in ``problems`` and the document gets no reader: a typo in an access
        declaration must never publish what it meant to restrict."""
        parsed = parse_declared(declared)
        if parsed.error is not None:
            self.problems.append(Failure(source, f"{source}: {parsed.error} - stored readable by nobody "
                                         "until the declaration is fixed"))
            return NO_READER
        rules = self.access_rules or AccessRules(default=(self.default_access,))
        return rules.resolve(source, declared=parsed.groups, from_source=from_source)

    def take_problems(self) -> list[Failure]:
        """The problems recorded since the last call (each unit's are reported with that unit)."""
        out, self.problems = self.problems, []
        return out

    def rel(self, path: Path) -> str:
        """Path relative to the corpus root, with forward slashes (the source id of a file).

        ParseError for a path that resolves outside the root (a symlink out of the corpus) or not at
        all (a symlink loop): such a file is reported, never read."""
        from rag.errors import ParseError

        try:
            real = path.resolve()
            for base, prefix in self.mounts.items():  # an unpacked archive: its path inside the corpus
                if base in real.parents:
                    return printable(f"{prefix}/{real.relative_to(base).as_posix()}")
            return printable(real.relative_to(self.root.resolve()).as_posix())
        except (RuntimeError, OSError) as exc:  # Python 3.11 raises RuntimeError for a symlink loop
            raise ParseError(f"{self.display(path)}: cannot be resolved ({exc}) - a symlink loop?") from exc
        except ValueError as exc:
            raise ParseError(f"{self.display(path)}: links outside the corpus root - not read") from exc

    def display(self, path: Path) -> str:
        """How to name ``path`` in a report, even when it cannot be resolved: never raises."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def printable(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (kept by the OS as surrogates) become ``\\xNN``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


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


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: object) -> object:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, tuple):
        return tuple(_scrub(v) for v in value)
    if isinstance(value, BaseModel):
        return value.model_copy(update={k: _scrub(getattr(value, k)) for k in type(value).model_fields})
    return value


def scrub_document(doc: Document) -> Document:
    """``doc`` with every lone surrogate (a JSON ``"\\ud800"`` escape, an undecodable mail header byte)
    replaced by U+FFFD: such text cannot be encoded as UTF-8, so hashing or storing it would fail the run."""
    out = _scrub(doc)
    assert isinstance(out, Document)
    return out


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

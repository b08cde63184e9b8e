"""What became of each file under the corpus root: stored, unchanged, duplicate, skipped or failed.

Exactly one outcome per path, so a summary can prove nothing was lost without a word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel

from ingest.context import Failure
from ingest.discover import Discovery
from rag.types import Document

Outcome = Literal["stored", "unchanged", "duplicate", "skipped", "failed"]


class FileCounts(BaseModel):
    """How many files under the root ended in each outcome (``seen`` is their total)."""

    seen: int = 0
    stored: int = 0
    unchanged: int = 0
    duplicate: int = 0
    skipped: int = 0
    failed: int = 0


def with_aliases(docs: Sequence[Document], aliases: Mapping[str, list[str]]) -> list[Document]:
    """Give each document the other paths that reach its file (a symlink or hard link inside the root)."""
    if not aliases:
        return list(docs)
    out = []
    for d in docs:
        base, sep, anchor = d.source.partition("#")
        extra = [f"{a}{sep}{anchor}" for a in aliases.get(base, [])]
        out.append(d.model_copy(update={"paths": tuple(sorted({*d.paths, *extra}))}) if extra else d)
    return out


def account(found: Discovery, *, failures: Iterable[Failure], loaded: Mapping[str, Sequence[Document]],
            kept: Iterable[str], written: set[str], primaries: set[str]) -> dict[str, Outcome]:
    """Each path's outcome. ``written``: primary sources of the documents stored this run; ``primaries``: the
    stored documents' primary sources (a loaded file whose document is stored under another path is a duplicate).
    Sources, not ids: a loader's document gets its id (which names the corpus root) only when it is stored."""
    out: dict[str, Outcome] = {}
    for path, _ in found.skipped:
        out[path] = "skipped"
    for path, _ in found.duplicates:
        out[path] = "duplicate"
    for key in kept:
        for path in found.unit_files.get(key, []):
            out[path] = "unchanged"
    for key, docs in loaded.items():
        files = found.unit_files.get(key, [])
        stored = [d for d in docs if d.source in primaries]
        fresh = any(d.source in written for d in stored)
        for path in files:
            if len(files) == 1 and docs and not stored:
                out[path] = "duplicate"  # the same content is stored under another path
            elif len(files) > 1 and (mine := _outcome_in_unit(path, stored, written)) is not None:
                out[path] = mine
            else:
                out[path] = "stored" if fresh else "unchanged"
    failed = {f.path.partition("#")[0] for f in failures} | {p for p, _ in found.failed}
    for path in failed:
        if path in out or path in found.files():
            out[path] = "failed"
    return out


def _outcome_in_unit(path: str, stored: Sequence[Document], written: set[str]) -> Outcome | None:
    """A file of a unit read as one (the mailboxes of one folder): stored when a stored document starts in it,
    a duplicate when its messages only appear in documents that start in another file; None when no stored
    document names it (then the unit's outcome stands)."""
    own = [d for d in stored if d.source.partition("#")[0] == path]
    if own:
        return "stored" if any(d.source in written for d in own) else "unchanged"
    if any(p.partition("#")[0] == path for d in stored for p in d.paths):
        return "duplicate"
    return None


def counts(outcomes: Mapping[str, Outcome]) -> FileCounts:
    """Totals per outcome."""
    c = FileCounts(seen=len(outcomes))
    for o in outcomes.values():
        setattr(c, o, getattr(c, o) + 1)
    return c

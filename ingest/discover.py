"""Walk a corpus folder into source units, and account for every file under it.

Every file ends in exactly one place: a unit to load, a duplicate path of another file (a symlink or a
hard link to a file read once), or skipped with the reason (not a document, hidden, over the size cap,
a FIFO or device, a symlink out of the root or in a loop, excluded by a glob). Only regular files are
read; symlinks are followed only inside the root; a ``.zip`` holding documents is read as the folder it
contains (unpacked under the data folder).
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.archives import prune, unpack_zip
from ingest.context import printable
from ingest.filetypes import ARCHIVES, EMAIL, MARKDOWN, OFFICE, SLACK_METADATA, UNSTRUCTURED, not_a_document, sniff_text
from ingest.loaders.slack import is_slack_export

CONFIG_FILES = {"people.yaml", "people.yml", "access.yaml", "access.yml", "users.yaml", "users.yml",
                "authors.json", "qa.jsonl", "asked.jsonl"}
# Build output and tool caches, never knowledge (Jekyll's _posts/ and Hugo's _index.md are content).
SKIP_DIRS = {"_site", "__pycache__", "node_modules", "_build", "site-packages", "__MACOSX"}
_JSON_LINES = {".jsonl", ".ndjson"}


@dataclass
class Unit:
    """Files read together by one loader. ``key`` is stable across runs."""

    key: str
    kind: str  # a loader in ingest.loaders.registry, or "slack" | "email" (read by the pipeline)
    files: list[Path] = field(default_factory=list)
    root_path: Path | None = None
    aliases: dict[str, list[str]] = field(default_factory=dict)  # source -> other paths reaching the same file

    def signature(self, context: str) -> str:
        """Hash of the unit's bytes (and the corpus-wide context) - unchanged units are not re-read."""
        h = hashlib.sha256(context.encode())
        for f in sorted(self.files):
            h.update(os.fsencode(f))
            try:
                h.update(hashlib.sha256(f.read_bytes()).digest())
            except OSError as exc:
                h.update(repr(exc).encode())
        for src, others in sorted(self.aliases.items()):
            h.update("\x00".join([src, *others]).encode())
        return h.hexdigest()[:32]


@dataclass
class Discovery:
    """What a walk found: units to load, and every other file with what became of it."""

    units: list[Unit] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (path, the path it is a second name of)
    mounts: dict[Path, str] = field(default_factory=dict)  # unpacked archive folder -> its path in the corpus
    unit_files: dict[str, list[str]] = field(default_factory=dict)  # unit key -> the paths of its files
    refused: set[Path] = field(default_factory=set)  # skipped paths inside Slack exports (not to be read)
    repos: list[Path] = field(default_factory=list)  # git work trees inside the root (not the root's own)

    def files(self) -> set[str]:
        """Every path accounted for (a skipped hidden folder counts as one entry, 'name/')."""
        out = {p for p, _ in self.skipped} | {p for p, _ in self.failed} | {p for p, _ in self.duplicates}
        return out.union(*self.unit_files.values())


@dataclass(frozen=True)
class _Entry:
    rel: str
    path: Path
    ident: tuple[int, int]
    canonical: bool  # reached by its own real path, not through a symlink


class _Walker:
    def __init__(self, root: Path, *, max_file_bytes: int, include: Sequence[str], exclude: Sequence[str],
                 unpack_dir: Path | None) -> None:
        self.root = Path(os.path.realpath(root))
        self.max_bytes, self.include, self.exclude = max_file_bytes, tuple(include), tuple(exclude)
        self.unpack_dir = unpack_dir
        self.found = Discovery()
        self.entries: list[_Entry] = []
        self.slack: list[tuple[str, Path, list[_Entry]]] = []
        self._insides: list[tuple[Path, str]] = [(self.root, "")]  # real folders that count as the corpus
        self.vaults: set[str] = set()  # folders holding .obsidian/

    def skip(self, rel: str, why: str) -> None:
        self.found.skipped.append((rel, why))

    def _virtual(self, real: Path) -> str | None:
        """The corpus path of a real path inside the root or an unpacked archive, else None."""
        for base, prefix in sorted(self._insides, key=lambda b: -len(str(b[0]))):
            if real == base or base in real.parents:
                tail = real.relative_to(base).as_posix()
                return "/".join(p for p in (prefix, "" if tail == "." else tail) if p)
        return None

    def folder(self, path: Path, prefix: str, ancestors: frozenset[Path], slack: list[_Entry] | None) -> None:
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            self.found.failed.append((prefix + "/" if prefix else ".", f"cannot list folder ({exc.strerror})"))
            return
        for name in names:
            self.entry(path / name, f"{prefix}/{printable(name)}" if prefix else printable(name), ancestors, slack)

    def entry(self, p: Path, rel: str, ancestors: frozenset[Path], slack: list[_Entry] | None) -> None:
        before = len(self.found.skipped)
        self._entry(p, rel, ancestors, slack)
        if slack is not None and any(s in (rel, rel + "/") for s, _ in self.found.skipped[before:]):
            self.found.refused.add(p)  # a Slack export's loader walks its folder itself: it must not read this

    def _entry(self, p: Path, rel: str, ancestors: frozenset[Path], slack: list[_Entry] | None) -> None:
        name = p.name
        link = os.path.islink(p)
        try:
            st = os.stat(p)
        except OSError as exc:
            loop = exc.errno == errno.ELOOP
            self.skip(rel, "symlink loop - not followed" if loop else f"broken symlink ({exc.strerror})")
            return
        real = Path(os.path.realpath(p))
        if link and self._virtual(real) is None:
            self.skip(rel, "symlink to outside the corpus folder - not followed")
            return
        isdir = stat.S_ISDIR(st.st_mode)
        if name == ".obsidian" and isdir:  # an Obsidian vault: its notes read as Obsidian Markdown
            self.vaults.add(rel.rpartition("/")[0])
        if name == ".git" and "/" in rel and self.root in real.parents:  # a repository inside the corpus
            self.found.repos.append(real.parent)
        if name.startswith("."):
            self.skip(rel + ("/" if isdir else ""), "hidden folder - not read" if isdir else "hidden file")
            return
        if isdir:
            if real in ancestors:
                self.skip(rel, "symlink loop (a link to a folder that contains it) - not followed")
            elif name in SKIP_DIRS:
                self.skip(rel + "/", "build output or tool cache folder - not read")
            elif slack is None and is_slack_export(p):
                entries: list[_Entry] = []
                self.slack.append((rel, p, entries))
                self.folder(p, rel, ancestors | {real}, entries)
            else:
                self.folder(p, rel, ancestors | {real}, slack)
            return
        if not stat.S_ISREG(st.st_mode):
            what = "FIFO" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "device"
            self.skip(rel, f"not a regular file ({what}) - not read")
            return
        if st.st_size > self.max_bytes:
            self.skip(rel, f"{st.st_size:,} bytes, over the size cap of {self.max_bytes:,} (WHOKNOWS_MAX_FILE_BYTES)")
            return
        if not self._chosen(rel):
            return
        virtual = self._virtual(real)
        entry = _Entry(rel, p, (st.st_dev, st.st_ino), canonical=virtual == rel)
        if slack is not None and p.suffix.lower() == ".json":
            slack.append(entry)
        else:
            self.entries.append(entry)

    def _chosen(self, rel: str) -> bool:
        def hit(pattern: str) -> bool:
            return fnmatch.fnmatch(rel, pattern) or ("/" not in pattern and fnmatch.fnmatch(rel.rsplit("/", 1)[-1],
                                                                                          pattern))
        bad = next((g for g in self.exclude if hit(g)), None)
        if bad is not None:
            self.skip(rel, f"excluded by --exclude {bad!r}")
            return False
        if self.include and not any(hit(g) for g in self.include):
            self.skip(rel, "not matched by any --include glob")
            return False
        return True

    def mount(self, real: Path, rel: str) -> None:
        """Treat an unpacked archive folder as the corpus path ``rel``."""
        self._insides.append((real, rel))
        self.found.mounts[real] = rel


def discover(root: Path, *, max_file_bytes: int = 50_000_000, include: Sequence[str] = (),
             exclude: Sequence[str] = (), unpack_dir: Path | None = None) -> Discovery:
    """Every file under ``root``: the units to load, and each other file with the reason it is not one.

    ``unpack_dir`` is where ``.zip`` files are unpacked (without it, archives are skipped)."""
    w = _Walker(root, max_file_bytes=max_file_bytes, include=include, exclude=exclude, unpack_dir=unpack_dir)
    if is_slack_export(w.root):
        w.slack.append(("", w.root, []))
        w.folder(w.root, "", frozenset({w.root}), w.slack[0][2])
    else:
        w.folder(w.root, "", frozenset({w.root}), None)
    email = Unit(key="email:*", kind="email")
    aliases = _settle(w)
    while w.entries:
        archives = [e for e in w.entries if e.path.suffix.lower() in ARCHIVES]
        for entry in w.entries:
            if entry not in archives:
                _classify(w, entry, email, aliases.get(entry.rel, []))
        w.entries = []
        for entry in archives:
            _open_archive(w, entry)
        aliases.update(_settle(w))
    for rel, folder, files in w.slack:
        unit = Unit(key=rel or ".", kind="slack", files=[e.path for e in files], root_path=folder)
        w.found.units.append(unit)
        w.found.unit_files[unit.key] = [e.rel for e in files]
        meta = [e.rel for e in files if e.path.parent == folder and e.path.name.lower() in SLACK_METADATA]
        w.found.skipped += [(m, "Slack export metadata (names, channels, access) - read with the export")
                            for m in meta]
        w.found.unit_files[unit.key] = [r for r in w.found.unit_files[unit.key] if r not in meta]
    if email.files:
        w.found.units.append(email)
    if unpack_dir is not None:
        prune(unpack_dir, set(w.found.mounts))
    return w.found


def _settle(w: _Walker) -> dict[str, list[str]]:
    """One entry per file: a file reached by several paths is read once, the others are its duplicates.

    Drops the duplicates from ``w.entries`` and the Slack exports' lists; returns primary -> other paths."""
    every = w.entries + [e for _, _, files in w.slack for e in files]
    groups: dict[tuple[int, int], list[_Entry]] = {}
    for e in every:
        groups.setdefault(e.ident, []).append(e)
    aliases: dict[str, list[str]] = {}
    dropped: set[int] = set()
    for members in groups.values():
        if len(members) == 1:
            continue
        first = next((m for m in members if m.canonical), members[0])
        for m in members:
            if m is not first:
                w.found.duplicates.append((m.rel, first.rel))
                aliases.setdefault(first.rel, []).append(m.rel)
                dropped.add(id(m))
    w.entries = [e for e in w.entries if id(e) not in dropped]
    for _, _, files in w.slack:
        files[:] = [e for e in files if id(e) not in dropped]
    return aliases


def _classify(w: _Walker, e: _Entry, email: Unit, aliases: list[str]) -> None:
    """Put one file into its unit, or report why it is none."""
    name, ext = e.path.name, e.path.suffix.lower()
    top = "/" not in e.rel or any(e.rel == f"{m}/{name}" for m in w.found.mounts.values())
    kind: str | None = None
    if top and name.lower() in CONFIG_FILES:
        w.skip(e.rel, "corpus configuration (people, access, authorship or questions) - read as settings")
        return
    why = not_a_document(name)
    if why is not None:
        w.skip(e.rel, f"not a document ({why})")
        return
    if ext in (".txt", ".text"):
        try:
            with open(e.path, "rb") as f:
                sniffed = sniff_text(f.read(8192))
        except OSError as exc:
            w.found.failed.append((e.rel, f"cannot read ({exc.strerror})"))
            return
        if sniffed == "email":
            _add_mail(w, email, e, aliases)
            return
        kind = "whatsapp" if sniffed == "whatsapp" else "unstructured"
    elif ext in MARKDOWN:
        kind = "obsidian" if any(v == "" or e.rel.startswith(v + "/") for v in w.vaults) else "markdown"
    elif ext == ".xml":
        try:
            with open(e.path, "rb") as f:
                kind = "mediawiki" if b"<mediawiki" in f.read(4096) else None
        except OSError as exc:
            w.found.failed.append((e.rel, f"cannot read ({exc.strerror})"))
            return
    elif ext in UNSTRUCTURED:
        kind = "unstructured"
    elif ext in OFFICE:
        kind = "office"
    elif ext == ".json":
        kind = "thread-json"
    elif ext in _JSON_LINES:
        kind = "jsonl"
    elif ext in EMAIL:
        _add_mail(w, email, e, aliases)
        return
    if kind is None:
        w.found.failed.append((e.rel, f"unsupported file type '{ext or name}'"))
        return
    w.found.units.append(Unit(key=e.rel, kind=kind, files=[e.path], aliases={e.rel: aliases} if aliases else {}))
    w.found.unit_files[e.rel] = [e.rel]


def _add_mail(w: _Walker, email: Unit, e: _Entry, aliases: list[str]) -> None:
    """E-mail files are threaded together: one unit for all of them."""
    email.files.append(e.path)
    w.found.unit_files.setdefault(email.key, []).append(e.rel)
    if aliases:
        email.aliases[e.rel] = aliases


def _open_archive(w: _Walker, e: _Entry) -> None:
    """A .zip holding documents is walked as the folder it contains; any other archive is skipped."""
    if w.unpack_dir is None:
        w.skip(e.rel, "archive - not unpacked (no data folder given)")
        return
    if any(e.rel.startswith(m + "/") for m in w.found.mounts.values()):
        w.skip(e.rel, "not a document (archive inside an archive - not unpacked)")
        return
    outcome = unpack_zip(e.path, w.unpack_dir, max_member_bytes=w.max_bytes)
    if outcome.error is not None:
        w.found.failed.append((e.rel, outcome.error))
        return
    if outcome.folder is None:
        w.skip(e.rel, f"not a document (archive of unknown content: {outcome.why})")
        return
    real = Path(os.path.realpath(outcome.folder))
    w.mount(real, e.rel)
    w.skip(e.rel, f"archive - read as the folder it contains (its files are listed as {e.rel}/...)")
    w.found.skipped += [(f"{e.rel}/{m}", why) for m, why in outcome.left_out]
    if is_slack_export(real):  # the usual Slack export zip: channels.json at its top
        w.slack.append((e.rel, real, []))
        w.folder(real, e.rel, frozenset({real}), w.slack[-1][2])
    else:
        w.folder(real, e.rel, frozenset({real}), None)

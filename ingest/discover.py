"""Walk a corpus folder into source units: one file, one Slack export, or all e-mail together."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ingest.loaders.files import MARKDOWN, UNSTRUCTURED
from ingest.loaders.slack import is_slack_export

CONFIG_FILES = {"people.yaml", "people.yml", "access.yaml", "access.yml", "users.yaml", "users.yml",
                "authors.json", "qa.jsonl", "asked.jsonl"}
EMAIL = {".eml", ".mbox"}
# Build output and tool caches, never knowledge (Jekyll's _posts/ and Hugo's _index.md are content).
SKIP_DIRS = {"_site", "__pycache__", "node_modules", "_build", "site-packages"}


@dataclass
class Unit:
    """Files read together by one loader. ``key`` is stable across runs."""

    key: str
    kind: str  # "markdown" | "unstructured" | "thread-json" | "slack" | "email"
    files: list[Path] = field(default_factory=list)
    root_path: Path | None = None

    def signature(self, context: str) -> str:
        """Hash of the unit's bytes (and the corpus-wide context) - unchanged units are not re-read."""
        h = hashlib.sha256(context.encode())
        for f in sorted(self.files):
            h.update(str(f).encode())
            try:
                h.update(hashlib.sha256(f.read_bytes()).digest())
            except OSError as exc:
                h.update(repr(exc).encode())
        return h.hexdigest()[:32]


def discover(root: Path) -> tuple[list[Unit], list[tuple[Path, str]]]:
    """(units to load, unsupported files with the reason)."""
    units: list[Unit] = []
    unsupported: list[tuple[Path, str]] = []
    email = Unit(key="email:*", kind="email")

    def walk(folder: Path) -> None:
        for p in sorted(folder.iterdir()):
            if p.name.startswith(".") or p.name in SKIP_DIRS:
                continue
            rel = p.relative_to(root).as_posix()
            if p.is_dir():
                if is_slack_export(p):
                    files = [f for f in p.rglob("*.json") if not any(s.startswith(".") for s in f.parts)]
                    units.append(Unit(key=rel, kind="slack", files=files, root_path=p))
                else:
                    walk(p)
                continue
            ext = p.suffix.lower()
            if folder == root and p.name.lower() in CONFIG_FILES:
                continue
            if ext in MARKDOWN:
                units.append(Unit(key=rel, kind="markdown", files=[p]))
            elif ext in UNSTRUCTURED:
                units.append(Unit(key=rel, kind="unstructured", files=[p]))
            elif ext == ".json":
                units.append(Unit(key=rel, kind="thread-json", files=[p]))
            elif ext in EMAIL:
                email.files.append(p)
            else:
                unsupported.append((p, f"unsupported file type '{ext or p.name}'"))

    walk(root)
    if email.files:
        units.append(email)
    return units, unsupported

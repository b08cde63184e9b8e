"""Who wrote a file: front matter, bylines, the AUTHORS.json sidecar, and git history."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from rag.errors import BadInput


def _name_only(who: str) -> str:
    """'Name <email>' -> 'Name'."""
    return who.split(" <", 1)[0].strip()


_BLAME_HEADER = re.compile(r"^[0-9a-f]{40} \d+ \d+")
_BOT = re.compile(r"\[bot\]|dependabot|github-actions|renovate|^bot$|-bot$", re.IGNORECASE)
# "_Written by Tomasz Wilk_", "Written by: A and B", "*Author: X*" at the start of a line.
_BYLINE = re.compile(
    r"^[\s>*_]*(?:written|authored|maintained|compiled)\s+by[:\s]+(?P<names>[^\n*_]+?)[\s*_.]*$"
    r"|^[\s>*_]*authors?:\s*(?P<names2>[^\n*_]+?)[\s*_.]*$",
    re.IGNORECASE | re.MULTILINE,
)


def bylines(text: str) -> list[str]:
    """Names signed in the text itself ('_Written by A and B_')."""
    names: list[str] = []
    for m in _BYLINE.finditer(text[:4000]):
        raw = m.group("names") or m.group("names2") or ""
        for part in re.split(r",|\band\b|&", raw):
            part = part.strip()
            if part and len(part) < 60 and part not in names:
                names.append(part)
    return names


def load_sidecar(root: Path) -> dict[str, dict]:
    """The ``AUTHORS.json`` at the corpus root: relative path -> {authors, date?, source_url?}."""
    path = root / "AUTHORS.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path}: not valid JSON ({exc})", field="AUTHORS.json") from exc
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected an object mapping paths to entries", field="AUTHORS.json")
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


class GitHistory:
    """Authors of files in a git work tree, ranked by lines contributed.

    Bots and bulk commits (touching more than ``bulk_files`` files: renames, reformatting) are
    left out, so the person who moved a folder is not credited for everything in it.
    """

    def __init__(self, root: Path, *, bulk_files: int = 50) -> None:
        self.root = root
        self.bulk_files = bulk_files
        self.toplevel: Path | None = None
        self._lines: dict[str, Counter[str]] = defaultdict(Counter)
        self._dates: dict[str, str] = {}
        self._skipped: set[str] = set()  # commits by bots or touching too many files
        self._blamed: dict[str, list[tuple[str, str]]] = {}
        self.head = ""
        try:
            out = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"],
                                 capture_output=True, text=True, timeout=20, check=True).stdout.split()
        except (OSError, subprocess.SubprocessError):
            return
        if len(out) < 2:
            return
        self.toplevel, self.head = Path(out[0]), out[1]
        self._read_log()

    @property
    def available(self) -> bool:
        """True when the corpus is inside a git work tree with at least one commit."""
        return self.toplevel is not None

    def _read_log(self) -> None:
        assert self.toplevel is not None
        try:
            rel_root = str(self.root.resolve().relative_to(self.toplevel.resolve()))
        except ValueError:
            rel_root = "."
        proc = subprocess.run(
            ["git", "-C", str(self.toplevel), "log", "--no-merges", "--numstat", "--format=\x01%an\x02%aI\x02%H\x02%ae",
             "--", rel_root],
            capture_output=True, text=True, timeout=120, check=False,
        )
        for block in proc.stdout.split("\x01")[1:]:
            head, _, body = block.partition("\n")
            author, when, sha, mail = (head.split("\x02") + ["", "", ""])[:4]
            rows = [r.split("\t") for r in body.strip().splitlines() if r.count("\t") >= 2]
            if _BOT.search(author) or len(rows) > self.bulk_files:
                self._skipped.add(sha.strip())
                continue
            who = f"{author} <{mail.strip()}>" if mail.strip() else author
            for added, deleted, path in rows:
                n = (int(added) if added.isdigit() else 0) + (int(deleted) if deleted.isdigit() else 0)
                if n:
                    self._lines[path][who] += n
                    self._dates.setdefault(path, when[:10])

    def _key(self, file: Path) -> str:
        assert self.toplevel is not None
        return str(file.resolve().relative_to(self.toplevel.resolve()))

    def authors(self, file: Path, *, canonical: Callable[[str], str] = _name_only
                ) -> tuple[list[str], str | None]:
        """(authors by lines contributed, date of the last counted commit) for ``file``.

        ``canonical`` maps a git identity ('Name <email>') to a person, so lines written under two
        spellings of one name add up before ranking.
        """
        if not self.available:
            return [], None
        key = self._key(file)
        counts: Counter[str] = Counter()
        for who, n in self._lines.get(key, Counter()).items():
            counts[canonical(who)] += n
        date = self._dates.get(key)
        if not counts:
            # The history is under an older path (a move or rename): count the lines as they stand.
            rows = [(who, when) for who, when in self._blame_rows(file) if who]
            counts.update(canonical(who) for who, _ in rows)
            date = max((when for _, when in rows), default=None)
        return [a for a, _ in counts.most_common() if a], date

    def blame(self, file: Path) -> list[str]:
        """Author of each line of ``file`` as committed (empty when untracked).

        Lines last touched by a bot or a bulk commit get ``""``: those commits are not authorship.
        """
        return [who for who, _ in self._blame_rows(file)]

    def _blame_rows(self, file: Path) -> list[tuple[str, str]]:
        """('Name <email>' or '' for bot/bulk lines, ISO date) per line of ``file``."""
        if not self.available:
            return []
        key = self._key(file)
        if key in self._blamed:
            return self._blamed[key]
        proc = subprocess.run(["git", "-C", str(self.toplevel), "blame", "-w", "--line-porcelain", "--", key],
                              capture_output=True, text=True, timeout=60, check=False)
        rows: list[tuple[str, str]] = []
        sha = name = ""
        for ln in proc.stdout.splitlines() if proc.returncode == 0 else []:
            if _BLAME_HEADER.match(ln):
                sha = ln.split(" ", 1)[0]
            elif ln.startswith("author "):
                name = ln[len("author "):]
            elif ln.startswith("author-mail "):
                mail = ln[len("author-mail "):].strip().strip("<>")
                who = f"{name} <{mail}>" if mail else name
                # All-zero sha: "Not Committed Yet", a work-tree edit nobody has signed for.
                skip = sha in self._skipped or not sha.strip("0") or _BOT.search(name)
                rows.append(("", "") if skip else (who, ""))
            elif ln.startswith("author-time ") and rows and rows[-1][0]:
                when = dt.datetime.fromtimestamp(int(ln.split()[1]), tz=dt.UTC).date().isoformat()
                rows[-1] = (rows[-1][0], when)
        self._blamed[key] = rows
        return rows

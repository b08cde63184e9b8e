"""Near-miss unanswerable gold questions (``eval/gold/nearmiss-*.jsonl``) and the check that keeps them honest.

Each item is a plausible, on-topic question for one corpus that nothing in it answers ("Which Redis version
does ratelimit-redis run?" over a corpus that names Redis but never its version). Besides the gold fields
(``kind: "unanswerable"``, no sources) an item records

- ``corpus``: the corpus it is about, as a path from the repository root (``data``,
  ``../shared/devset/corpus``, ``../shared/threadset/corpus``; never a copy of it);
- ``near``: the document it is nearest to, when there is one;
- ``checked``: the ``grep -rliE`` command that found no line holding the answer (``pattern``), its
  ``files_matching`` count (0) and the date.

    python -m eval.nearmiss eval/gold/nearmiss-*.jsonl     # re-runs every check; exit 1 on any match

The check here re-runs each pattern with Python's ``re`` (case-insensitive, line by line, as grep does) over
every file of the corpus, and reads DOCX text too, which grep cannot (the gold sets ``qa.jsonl`` and
``asked.jsonl`` are not corpus content and are skipped).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLD_DIR = Path(__file__).resolve().parent / "gold"
_SKIP = frozenset({"qa.jsonl", "asked.jsonl"})


@dataclass(frozen=True)
class Match:
    """A line of the corpus that a near-miss item's pattern matches (the item may be answerable)."""

    item_id: str
    path: str
    line: str


def corpus_path(item: dict[str, object]) -> Path:
    """The item's corpus, resolved from the repository root."""
    return (ROOT / str(item["corpus"])).resolve()


def _lines(path: Path) -> list[str]:
    if path.suffix == ".docx":
        with zipfile.ZipFile(path) as z:
            xml = z.read("word/document.xml").decode("utf-8", "replace")
        return re.sub(r"<[^>]+>", " ", xml.replace("</w:p>", "\n")).splitlines()
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def check_file(gold: Path) -> list[Match]:
    """Every corpus line that some item's recorded pattern matches (empty: all checks still hold)."""
    items = [json.loads(line) for line in gold.read_text().splitlines() if line.strip()]
    out: list[Match] = []
    by_corpus: dict[Path, list[dict[str, object]]] = {}
    for item in items:
        by_corpus.setdefault(corpus_path(item), []).append(item)
    for corpus, group in by_corpus.items():
        patterns = [(str(i["id"]), re.compile(str(i["checked"]["pattern"]), re.IGNORECASE))  # type: ignore[index]
                    for i in group]
        for path in sorted(p for p in corpus.rglob("*") if p.is_file() and p.name not in _SKIP):
            for line in _lines(path):
                out.extend(Match(item_id, str(path.relative_to(corpus)), line[:200])
                           for item_id, pat in patterns if pat.search(line))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="Re-run the grep checks recorded in near-miss gold files.")
    ap.add_argument("files", nargs="*", type=Path, default=sorted(GOLD_DIR.glob("nearmiss-*.jsonl")))
    args = ap.parse_args()
    bad = [m for f in args.files for m in check_file(f)]
    for m in bad:
        print(f"{m.item_id}: {m.path}: {m.line}")
    print(f"{len(bad)} matching lines in {len(args.files)} files")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

"""The near-miss unanswerable gold questions: enough of them, well-formed, and still unanswered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.gold import load_gold
from eval.nearmiss import GOLD_DIR, check_file, corpus_path

FILES = sorted(GOLD_DIR.glob("nearmiss-*.jsonl"))


def _items(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_at_least_sixty_over_three_corpora() -> None:
    items = [i for f in FILES for i in _items(f)]
    assert len(items) >= 60
    corpora = {str(i["corpus"]) for i in items}
    assert corpora == {"data", "../shared/devset/corpus", "../shared/threadset/corpus"}
    assert all(sum(1 for i in items if i["corpus"] == c) >= 15 for c in corpora)
    assert len({i["question"] for i in items}) == len(items)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_items_are_unanswerable_gold_with_a_recorded_grep(path: Path) -> None:
    gold = load_gold(path)
    assert all(g.kind == "unanswerable" and not g.sources and not g.evidence for g in gold)
    for item in _items(path):
        checked = item["checked"]
        assert isinstance(checked, dict)
        assert checked["files_matching"] == 0
        assert checked["grep"].startswith("grep -rliE") and checked["pattern"] in checked["grep"]
        assert checked["grep"].endswith(" " + str(item["corpus"]))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_recorded_greps_still_find_nothing(path: Path) -> None:
    corpus = corpus_path(_items(path)[0])
    if not corpus.exists():
        pytest.skip(f"{corpus} is not here (../shared is optional)")
    assert check_file(path) == []

"""The gold file reader: valid lines become items, a bad line is reported with its line number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.gold import GoldItem, load_gold, source_matches
from rag.errors import BadInput, NotFound

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def line(**fields: object) -> str:
    return json.dumps(fields)


def test_reads_items_skipping_blank_lines_with_defaults_and_kind_lower_cased(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line(id="q1", question="Who runs deploys?", kind="Who-Knows", experts=["Ann Smith"]),
        "",
        "   ",
        line(
            id="q2",
            question="How do I roll back?",
            answer="helm rollback",
            sources=["wiki/deploy.md"],
            kind=" HOW-TO ",
            evidence=["Run helm rollback."],
            note="extra keys are ignored",
        ),
    )
    items = load_gold(path)
    assert [i.id for i in items] == ["q1", "q2"]
    assert items[0] == GoldItem(
        id="q1",
        question="Who runs deploys?",
        answer="",
        sources=[],
        experts=["Ann Smith"],
        kind="who-knows",
        evidence=[],
    )
    assert items[1].kind == "how-to"
    assert items[1].sources == ["wiki/deploy.md"]
    assert items[1].answerable and not GoldItem(id="u", question="?", kind="Unanswerable").answerable


def test_items_are_frozen() -> None:
    item = GoldItem(id="q1", question="Who?", kind="factual")
    with pytest.raises(ValueError):
        item.id = "q2"  # type: ignore[misc]


def test_missing_question_names_file_and_line(tmp_path: Path) -> None:
    # line 1 ok, line 2 blank (still counted), line 3 lacks the question
    path = write(tmp_path, line(id="q1", question="a?", kind="factual"), "", line(id="q2", kind="factual"))
    with pytest.raises(BadInput) as err:
        load_gold(path)
    assert f"{path} line 3: missing 'question'" == str(err.value)


def test_missing_id_and_missing_kind_are_reported(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"qa\.jsonl line 1: missing 'id'"):
        load_gold(write(tmp_path, line(question="a?", kind="factual")))
    with pytest.raises(BadInput, match=r"qa\.jsonl line 1: missing 'kind'"):
        load_gold(write(tmp_path, line(id="q1", question="a?")))


def test_invalid_json_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = write(tmp_path, line(id="q1", question="a?", kind="factual"), '{"id": "q2", "question": ')
    with pytest.raises(BadInput, match=r"qa\.jsonl line 2: invalid JSON"):
        load_gold(path)


def test_a_line_that_is_not_an_object_is_reported(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"qa\.jsonl line 1: expected a JSON object, got list"):
        load_gold(write(tmp_path, '["q1", "a?"]'))


def test_wrong_types_are_reported_with_field_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line(id="q1", question="a?", kind="factual"),
        line(id="q2", question="b?", kind="factual", sources="wiki/a.md"),
    )
    with pytest.raises(BadInput, match=r"qa\.jsonl line 2: 'sources': input should be a valid list") as err:
        load_gold(path)
    assert err.value.field == "sources"
    with pytest.raises(BadInput, match=r"line 1: 'id': input should be a valid string, got 7"):
        load_gold(write(tmp_path, line(id=7, question="a?", kind="factual")))
    with pytest.raises(BadInput, match=r"line 1: 'experts\.1': input should be a valid string"):
        load_gold(write(tmp_path, line(id="q", question="a?", kind="factual", experts=["Ann", None])))


def test_blank_question_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"qa\.jsonl line 1: 'question' must not be empty"):
        load_gold(write(tmp_path, line(id="q1", question="   ", kind="factual")))


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        line(id="q1", question="a?", kind="factual"),
        line(id="q2", question="b?", kind="factual"),
        "",
        line(id="q1", question="c?", kind="factual"),
    )
    with pytest.raises(BadInput, match=r"qa\.jsonl line 4: duplicate id 'q1' \(first on line 1\)"):
        load_gold(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="No gold file at"):
        load_gold(tmp_path / "absent.jsonl")
    with pytest.raises(BadInput, match="no questions"):
        load_gold(write(tmp_path, "", "  "))


@pytest.mark.parametrize("path", [ROOT / "data" / "qa.jsonl", ROOT.parent / "shared" / "devset" / "qa.jsonl"])
def test_the_project_gold_files_parse(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout")
    items = load_gold(path)
    assert items and {i.kind for i in items} <= {"factual", "how-to", "who-knows", "unanswerable"}
    assert all(i.sources for i in items if i.kind != "unanswerable")


@pytest.mark.parametrize(
    ("candidate", "gold", "expected"),
    [
        ("wiki/deploy.md", "wiki/deploy.md", True),  # the same file
        ("email/eng.mbox#abc@x", "email/eng.mbox", True),  # a thread of the gold file
        ("email/eng.mbox#abc@x", "email/eng.mbox#abc@x", True),  # the gold thread itself
        ("email/eng.mbox#def@x", "email/eng.mbox#abc@x", False),  # another thread of the same file
        ("email/eng.mbox", "email/eng.mbox#abc@x", False),  # the whole file is not the one thread
        ("email/eng.mbox2#abc@x", "email/eng.mbox", False),  # a prefix, but not an anchor
        ("wiki/deploy.md.bak", "wiki/deploy.md", False),
        ("Wiki/Deploy.md", "wiki/deploy.md", False),  # paths are case-sensitive
    ],
)
def test_source_matches(candidate: str, gold: str, expected: bool) -> None:
    assert source_matches(candidate, gold) is expected

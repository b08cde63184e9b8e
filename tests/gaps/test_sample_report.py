"""data/asked.jsonl replayed over the sample organisation exercises every section of the report."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from rag.engine import QueryEngine
from rag.errors import BadInput
from rag.gaps import build_report
from rag.gaps_render import write_report
from rag.replay import load_asked, replay
from tests.gaps.conftest import DATA, NOW

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_replaying_the_sample_questions_fills_every_section(gap_engine: QueryEngine, tmp_path: Path) -> None:
    summary = replay(gap_engine, DATA / "asked.jsonl", now=NOW)
    lines = [json.loads(x) for x in (DATA / "asked.jsonl").read_text().splitlines() if x.strip()]
    assert summary.asked == len(lines) and 40 <= summary.asked <= 80
    assert summary.askers == len({x["asker"] for x in lines}) >= 10
    assert summary.feedback == sum("helpful" in x for x in lines)

    report = build_report(gap_engine, now=NOW)

    # The uncovered part of a two-part question is logged as an unanswered question of its own (it belongs
    # in the gap report), so the log may hold a few more questions than were asked.
    assert 0 <= report.questions - summary.asked <= 3 and report.askers == summary.askers
    top = report.unanswered_topics[:3]
    assert all(t.count >= 4 and len(t.askers) >= 3 for t in top), [(t.label, t.count) for t in top]
    assert {"parental", "training", "load"} <= {term for t in top for term in t.terms}
    assert sum(t.thumbs_down for t in report.unanswered_topics) >= 3
    assert any("sonoma" in t.terms for t in report.only_in_chat)
    assert {h.person for h in report.single_points.inactive} >= {"Jonas Berg", "Kenji Watanabe"}
    assert {s.document.source for s in report.stale} >= {"wiki/ledgerline-overview.md",
                                                         "wiki/ingestion-pipeline.md"}
    assert report.trend[0].week <= (NOW - timedelta(days=110)).date(), "the file spans months"

    files = write_report(report, tmp_path / "out", command="whoknows gaps --out out")
    assert [f.name for f in files] == ["gaps.md", "topics.png", "trend.png"]
    assert all(f.read_bytes().startswith(PNG) for f in files[1:])
    md = files[0].read_text()
    for heading in ("## Unanswered topics", "## Knowledge only in chat", "## Single points of knowledge",
                    "## Stale but relied on", "![topics](topics.png)"):
        assert heading in md
    assert "Jonas Berg" in md and "(has left)" in md


@pytest.mark.parametrize(("line", "field"), [
    ('{"asker": "Ann"}', "question"),
    ('{"question": "Why?", "days_ago": -3}', "days_ago"),
    ('{"question": "Why?", "helpful": "yes"}', "helpful"),
    ('{"question": "Why?", "when": "today"}', "when"),
    ("not json", "line 2"),
])
def test_a_bad_replay_line_names_the_line_and_field(tmp_path: Path, line: str, field: str) -> None:
    f = tmp_path / "asked.jsonl"
    f.write_text('{"question": "fine", "asker": "Ann", "days_ago": 1}\n' + line + "\n")
    with pytest.raises(BadInput) as exc:
        load_asked(f)
    assert exc.value.field == field and ":2" in str(exc.value)


def test_the_sample_file_is_valid_and_ingest_skips_it() -> None:
    from ingest.discover import discover

    assert len(load_asked(DATA / "asked.jsonl")) >= 40
    found = discover(DATA)
    assert not found.failed
    assert all("asked.jsonl" not in str(f) for u in found.units for f in u.files)
    assert "asked.jsonl" in dict(found.skipped)

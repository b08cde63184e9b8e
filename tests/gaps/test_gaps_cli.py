"""`whoknows ask --asker`, `feedback`, `gaps`, `log replay` and `log purge` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from rag.config import Settings
from rag.querylog import QueryLog

pytestmark = [pytest.mark.slow]


def _run(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"WHOKNOWS_QUERY_LOG_PATH": str(settings.query_log_file), "WHOKNOWS_QUERY_LOG": settings.query_log}
    result = CliRunner().invoke(app, [*args, "--data-dir", str(settings.data_dir)], env=env)
    return result.exit_code, result.output


def test_replay_feedback_gaps_and_purge_from_the_command_line(gap_settings: Settings, tmp_path: Path) -> None:
    asked = tmp_path / "asked.jsonl"
    asked.write_text("\n".join(json.dumps(x) for x in [
        {"asker": "Nora", "question": "How many weeks of paid parental leave do we get?", "days_ago": 200},
        {"asker": "Arjun", "question": "Is paternity leave paid at full salary?", "days_ago": 3},
        {"asker": "Ben", "question": "How do I deploy a service to production?", "days_ago": 2, "helpful": True},
    ]) + "\n")
    code, output = _run(gap_settings, "log", "replay", str(asked), "--json")
    assert code == 0, output
    assert json.loads(output[output.index("{"):])["asked"] == 3
    code, output = _run(gap_settings, "log", "replay", str(asked), "--json")
    assert code == 1 and "already replayed" in output and "--again" in output, "a second replay would double it"
    assert len(QueryLog(gap_settings.query_log_file).questions()) == 3

    code, output = _run(gap_settings, "ask", "How do I rotate the Twilio token?", "--asker", "Sam", "--json")
    assert code == 0, output
    qid = json.loads(output[output.index("{"):])["question_id"]
    code, output = _run(gap_settings, "feedback", qid, "--not-helpful", "--comment", "wrong runbook")
    assert code == 0, output

    out_dir = tmp_path / "report"
    code, output = _run(gap_settings, "gaps", "--since", "30", "--json", "--out", str(out_dir))
    assert code == 0, output
    report = json.loads(output[output.index("{"):])
    assert report["questions"] == 3, "the 200-day-old question is outside --since 30"
    assert {t["askers"][0] for t in report["unanswered_topics"]} == {"Arjun", "Sam"}
    assert (out_dir / "gaps.md").exists() and (out_dir / "topics.png").exists()

    code, output = _run(gap_settings, "log", "purge", "--older-than", "30")
    assert code == 0 and "purged 1 questions" in output
    assert [q.asker for q in QueryLog(gap_settings.query_log_file).questions()] == ["Arjun", "Ben", "Sam"]


def test_cli_errors_are_one_line_and_exit_1(gap_settings: Settings) -> None:
    code, output = _run(gap_settings, "feedback", "no-such-id", "--helpful")
    assert code == 1 and "no-such-id" in output
    code, output = _run(gap_settings, "feedback", "no-such-id")
    assert code == 1 and "--helpful or --not-helpful" in output
    off = gap_settings.model_copy(update={"query_log": "off"})
    code, output = _run(off, "log", "purge", "--older-than", "1")
    assert code == 1 and "WHOKNOWS_QUERY_LOG=off" in output
    assert not gap_settings.query_log_file.exists()


def test_replay_again_appends_on_purpose(gap_settings: Settings, tmp_path: Path) -> None:
    asked = tmp_path / "asked.jsonl"
    asked.write_text(json.dumps({"asker": "Nora", "question": "How many weeks of paid parental leave do we get?"}))
    assert _run(gap_settings, "log", "replay", str(asked))[0] == 0
    assert _run(gap_settings, "log", "replay", str(asked), "--again")[0] == 0
    assert len(QueryLog(gap_settings.query_log_file).questions()) == 2
    asked.write_text(json.dumps({"asker": "Nora", "question": "Is paternity leave paid at full salary?"}))
    assert _run(gap_settings, "log", "replay", str(asked))[0] == 0, "new contents are a new replay"

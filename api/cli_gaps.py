"""``whoknows feedback``, ``whoknows gaps`` and ``whoknows log replay|purge``: the knowledge manager's commands.

Imported by :mod:`api.cli` (plain ``import``, so either module may be imported first); the commands register
on its ``app``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli import DataDir, JsonOut, app, err, fail, make_settings, out
from rag.errors import BadInput, ConfigError, WhoknowsError
from rag.querylog import QueryLog

log_app = typer.Typer(no_args_is_help=True, help="The query log: replay a file of asked questions, purge old ones.")
app.add_typer(log_app, name="log")


def _open_log(data_dir: Path | None) -> QueryLog:
    log = QueryLog.from_settings(make_settings(data_dir))
    if log is None:
        raise ConfigError("the query log is off (WHOKNOWS_QUERY_LOG=off) - unset it to record questions")
    return log


@app.command()
def feedback(
    question_id: Annotated[str, typer.Argument(help="The question_id printed by `whoknows ask` (or /ask).")],
    helpful: Annotated[bool | None, typer.Option("--helpful/--not-helpful",
                                                 help="Did the answer help? (required)")] = None,
    comment: Annotated[str | None, typer.Option("--comment", help="What was missing or wrong.")] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Record a thumbs up or down on an answer; a thumbs-down puts its topic in the gap report."""
    try:
        if helpful is None:
            raise BadInput("say --helpful or --not-helpful", field="helpful")
        fb = _open_log(data_dir).add_feedback(question_id, helpful=helpful, comment=comment)
    except WhoknowsError as exc:
        fail(exc)
    if as_json:
        from api.schemas import FeedbackOut

        print(FeedbackOut.from_domain(fb).model_dump_json(indent=2))
    else:
        err.print(f"recorded: {'helpful' if fb.helpful else 'not helpful'} for {fb.question_id}")


@app.command()
def gaps(
    since: Annotated[int | None, typer.Option("--since", min=1, help="Only questions of the last DAYS days.")] = None,
    stale_days: Annotated[int | None, typer.Option("--stale-days", min=1, help="Documents older than this are "
                                                   "stale [env: WHOKNOWS_GAPS_STALE_DAYS; default 365].")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write gaps.md and PNG charts here.")] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """The knowledge-gap report: unanswered topics, knowledge only in chat, single points, stale documents."""
    from api.schemas import GapReportOut
    from rag.engine import QueryEngine
    from rag.gaps import build_report
    from rag.gaps_render import render_markdown, write_report

    try:
        report = build_report(QueryEngine(make_settings(data_dir)), since_days=since, stale_days=stale_days)
    except WhoknowsError as exc:
        fail(exc)
    command = "whoknows " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["gaps"] else None
    if out_dir is not None:
        files = write_report(report, out_dir, command=command)
        err.print("wrote " + ", ".join(str(f) for f in files))
    if as_json:
        print(GapReportOut.from_domain(report).model_dump_json(indent=2))
    elif out_dir is None:
        out.print(Markdown(render_markdown(report)))


@log_app.command("replay")
def log_replay(
    file: Annotated[Path, typer.Argument(help="JSON lines: {asker, question, days_ago, helpful?, comment?}.")],
    again: Annotated[bool, typer.Option("--again", help="Replay a file this log has already replayed "
                                        "(its questions are then counted twice).")] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Ask every question of FILE with its asker and time, and record its feedback (appends to the log;
    the same file is replayed once unless --again)."""
    from rag.engine import QueryEngine
    from rag.replay import replay

    try:
        engine = QueryEngine(make_settings(data_dir))
        if as_json or not sys.stderr.isatty():
            summary = replay(engine, file, again=again)
        else:
            with Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=err, transient=True) as bar:
                task = bar.add_task("replay", total=None)
                summary = replay(engine, file, again=again,
                                 progress=lambda i, n: bar.update(task, completed=i, total=n))
    except WhoknowsError as exc:
        fail(exc)
    if as_json:
        print(summary.model_dump_json(indent=2))
    else:
        out.print(f"replayed {summary.asked} questions from {summary.askers} people ({summary.abstained} "
                  f"abstained, {summary.feedback} with feedback) into {engine.settings.query_log_file}")


@log_app.command("purge")
def log_purge(
    older_than: Annotated[float, typer.Option("--older-than", min=0, help="Delete questions (and their "
                                              "feedback) asked more than DAYS days ago.")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Delete old questions from the query log."""
    try:
        result = _open_log(data_dir).purge(older_than_days=older_than)
    except WhoknowsError as exc:
        fail(exc)
    if as_json:
        print(result.model_dump_json(indent=2))
    else:
        out.print(f"purged {result.questions} questions and {result.feedback} feedback entries asked before "
                  f"{result.before:%Y-%m-%d %H:%M} UTC")

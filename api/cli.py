"""The ``whoknows`` command line: thin commands over the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rag.config import Settings
from rag.errors import WhoknowsError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Answers questions from your organisation's wikis, retros and threads - and says who knows.")
err = Console(stderr=True)
out = Console()

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Store location [env: WHOKNOWS_DATA_DIR; "
                                                                   "default ./.whoknows]")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.callback()
def _root() -> None:
    """whoknows: ask your organisation's knowledge, with sources and the people who know."""


def make_settings(data_dir: Path | None) -> Settings:
    """Build the one Settings object of this process (CLI flags override the environment)."""
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings


def fail(exc: Exception) -> None:
    """Print a whoknows error as one clear line and exit 1 (no traceback for expected errors)."""
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(1)


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="Corpus folder (read recursively).")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Ingest a folder of wiki pages, retro notes and threads. Exit 0 if every file landed, 1 if some failed."""
    from ingest.pipeline import ingest as run_ingest

    settings = make_settings(data_dir)
    try:
        if as_json or not sys.stderr.isatty():
            summary = run_ingest(path, settings)
        else:
            with Progress(TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=err, transient=True) as bar:
                tasks: dict[str, int] = {}

                def progress(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task(stage, total=total)
                    bar.update(tasks[stage], completed=done, total=total)

                summary = run_ingest(path, settings, progress=progress)
    except WhoknowsError as exc:
        fail(exc)
        return
    if as_json:
        print(summary.model_dump_json(indent=2))
    else:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(summary.by_kind.items()))
        out.print(f"[bold]{summary.documents}[/] documents ({kinds}), {summary.chunks} chunks in "
                  f"{settings.data_dir} - {summary.added} added, {summary.replaced} replaced, "
                  f"{summary.unchanged} unchanged, {summary.deleted} deleted, {summary.duplicates} duplicate paths; "
                  f"{summary.embedded} chunks embedded in {summary.seconds:.1f}s")
        for f in summary.failed:
            err.print(f"[yellow]failed:[/] {f.path}: {f.reason}")
    if summary.failed:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
_ = json

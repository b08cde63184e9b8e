"""The ``whoknows`` command line: thin commands over the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from rag.config import Settings
from rag.errors import BadInput, WhoknowsError

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


def fail(exc: Exception) -> NoReturn:
    """Print a whoknows error as one clear line and exit 1 (no traceback for expected errors)."""
    # soft_wrap: one line whatever the terminal width, so scripts and logs get the whole message intact.
    err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
    raise typer.Exit(1)


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="Corpus folder (read recursively).")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
    include: Annotated[list[str] | None, typer.Option("--include", help="Only read files matching this glob "
                                                      "(repeatable; 'wiki/*', '*.md').")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Skip files matching this glob "
                                                      "(repeatable).")] = None,
) -> None:
    """Ingest a folder of wiki pages, retro notes and threads. Exit 0 if every file landed or was skipped as no
    document (images, stylesheets...; listed), 1 if some failed."""
    from ingest.pipeline import ingest as run_ingest
    from rag.tune import tune_store

    settings = make_settings(data_dir)
    if include or exclude:
        settings = settings.model_copy(update={"include": tuple(include or settings.include),
                                               "exclude": tuple(exclude or settings.exclude)})
    try:
        if as_json or not sys.stderr.isatty():
            summary = run_ingest(path, settings)
        else:
            with Progress(TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=err, transient=True) as bar:
                tasks: dict[str, TaskID] = {}

                def progress(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task(stage, total=total)
                    bar.update(tasks[stage], completed=done, total=total)

                summary = run_ingest(path, settings, progress=progress)
        # The fusion weight, chosen on the corpus itself; again only when it changed a lot.
        tuning = tune_store(settings) if summary.chunks else None
    except WhoknowsError as exc:
        fail(exc)
    if as_json:
        print(summary.model_dump_json(indent=2))
    else:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(summary.by_kind.items()))
        out.print(f"[bold]{summary.documents}[/] documents ({kinds}), {summary.chunks} chunks in "
                  f"{settings.data_dir} - {summary.added} added, {summary.replaced} replaced, "
                  f"{summary.unchanged} unchanged, {summary.deleted} deleted, {summary.duplicates} duplicate paths; "
                  f"{summary.embedded} chunks embedded in {summary.seconds:.1f}s")
        if tuning is not None:
            out.print(f"fusion {tuning.chosen.label} chosen on {tuning.queries} pseudo-queries from the corpus")
        if summary.skipped:
            err.print(f"{len(summary.skipped)} skipped (not documents, hidden, excluded or over the size cap; "
                      "`--json` lists them with reasons)", soft_wrap=True)
        for f in summary.failed:
            err.print(f"[yellow]failed:[/] {f.path}: {f.reason}")
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def forget(
    path: Annotated[Path, typer.Argument(help="A corpus folder ingested before (it may have been moved or deleted).")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Remove every document ingested from the corpus folder PATH (after moving or retiring it); the other
    corpora of the data dir stay. A moved folder is a new corpus: ingest it at its new place, then forget the old."""
    from ingest.roots import forget as run_forget

    settings = make_settings(data_dir)
    try:
        removed = run_forget(path, settings)
    except WhoknowsError as exc:
        fail(exc)
    if as_json:
        print(json.dumps({"root": str(path.expanduser().resolve()), "documents": removed}))
    else:
        out.print(f"forgot {removed} documents ingested from {path.expanduser().resolve()}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question in plain language.")],
    k: Annotated[int | None, typer.Option("--k", help="Passages to retrieve (1-50).")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only wiki, retro or thread (repeatable).")] = None,
    channel: Annotated[list[str] | None, typer.Option("--channel", help="Only these channels.")] = None,
    asker: Annotated[str | None, typer.Option("--asker", help="Who is asking (recorded in the query log).")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Answer with the access of this user from the users "
                                                "file (what they would see over HTTP).")] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Answer a question with numbered sources and the people to ask.

    The command line is the local operator and reads everything; ``--as NAME`` answers as that user would
    be answered over the API, with only the documents their groups may read.
    """
    from api.schemas import AnswerOut, FiltersIn
    from rag.engine import QueryEngine
    from rag.types import Filters

    settings = make_settings(data_dir)
    try:
        bad = [x for x in (kind or []) if x not in ("wiki", "retro", "thread")]
        if bad:
            raise BadInput(f"--kind must be wiki, retro or thread (got {bad[0]!r})", field="kind")
        filters = (FiltersIn.model_validate({"kind": kind or None, "channel": channel or None}).to_domain()
                   if (kind or channel) else None)
        if as_user is not None:
            groups = user_groups(settings, as_user)
            filters = (filters or Filters()).model_copy(update={"groups": groups})
            asker = asker or as_user
        answer = QueryEngine(settings).ask(question, k=k, filters=filters, asker=asker)
    except WhoknowsError as exc:
        fail(exc)
    if as_json:
        print(AnswerOut.from_domain(answer).model_dump_json(indent=2))
        return
    print_answer(answer)
    if settings.query_log == "on":
        out.print(f"[dim]question id {answer.question_id} - rate it: whoknows feedback {answer.question_id} "
                  "--helpful (or --not-helpful)[/]")


def user_groups(settings: Settings, name: str) -> tuple[str, ...]:
    """The effective access groups of a user in the users file; BadInput (field ``as``) for an unknown name."""
    from api.auth import Authenticator, UsersFile

    if name not in {u.name for u in UsersFile.load(settings.users_path).users}:
        raise BadInput(f"no user named {name!r} in {settings.users_path} - see `whoknows users list`", field="as")
    return Authenticator(settings.model_copy(update={"auth": "off"})).groups_of(name)


def print_answer(answer: Any) -> None:
    """Human output: the answer, numbered sources with authors, the people to ask."""
    out.print(f"[bold]Q:[/] {answer.question}")
    style = "yellow" if answer.abstained else "green"
    out.print(f"[bold {style}]A:[/] {answer.answer}  [dim](confidence {answer.confidence:.2f})[/]")
    if answer.citations:
        out.print("[bold]Sources[/]")
        for c in answer.citations:
            where = c.url or c.source
            section = f" > {c.section}" if c.section else ""
            out.print(f"  [{c.n}] {c.title}{section} ({c.kind}, {c.date or 'undated'}) - {', '.join(c.authors)}")
            out.print(f"      [dim]{where}[/]")
    if answer.experts:
        out.print("[bold]People to ask[/]")
        for e in answer.experts[:3]:
            status = "" if e.active is not False else " [red](has left)[/]"
            team = f", {e.team}" if e.team else ""
            out.print(f"  - {e.name}{team}{status} - {e.why}")
    out.print()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    allow_public_without_auth: Annotated[bool, typer.Option(
        "--allow-public-without-auth", help="Bind a non-loopback --host even with auth off.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Run the web page (/) and the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from api.app import create_app
    from api.server import check_bind, configure_logging, server_config

    settings = make_settings(data_dir)
    try:
        check_bind(host, settings, force=allow_public_without_auth)
        application = create_app(settings)
    except WhoknowsError as exc:
        fail(exc)
    mode = "on" if settings.auth_enabled else "off (everything public)"
    err.print(f"whoknows on http://{host}:{port}/ - auth {mode}")
    configure_logging()
    uvicorn.Server(server_config(application, host=host, port=port)).run()


@app.command(name="eval")
def evaluate(
    corpus: Annotated[Path, typer.Option("--corpus", help="Corpus folder to ingest and question.")],
    qa: Annotated[Path, typer.Option("--qa", help="Gold questions (JSON lines).")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write report.md and charts here.")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Build a new temporary store instead of reusing.")] = False,
    fusion: Annotated[str | None, typer.Option("--fusion", help="Fuse by METHOD[:WEIGHT] (rrf, minmax, zscore, "
                                                                "adaptive; WEIGHT = dense's share) instead of "
                                                                "the corpus's tuned weight.")] = None,
    sweep: Annotated[bool, typer.Option("--sweep", help="Print every fusion candidate next to the baselines.")] = False,
    as_json: JsonOut = False,
) -> None:
    """Score retrieval, citations, answers, experts and abstention against a gold set, with baselines."""
    from eval.harness import run_eval
    from eval.report import write_report
    from eval.sweep import sweep_lines

    settings = make_settings(None)
    if fusion is not None:
        settings = settings.model_copy(update={"fusion": fusion})
    try:
        report = run_eval(corpus, qa, settings, fresh=fresh)
    except WhoknowsError as exc:
        fail(exc)
    if out_dir is not None:
        write_report(report, out_dir)
    if as_json:
        print(report.model_dump_json(indent=2))
        return
    mt = report.metrics
    out.print(f"[bold]{report.questions} questions[/] on {report.corpus}")
    for name, vals in [("whoknows", mt["retrieval"])] + [(k, v["retrieval"]) for k, v in report.baselines.items()]:
        out.print(f"  {name:18s} " + "  ".join(f"{k} {v:.3f}" for k, v in vals.items() if v is not None))
    for fam in ("citations", "answers", "experts", "abstention", "latency_ms"):
        out.print(f"  {fam:18s} " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                               for k, v in mt[fam].items()))
    if sweep and report.fusion is not None:
        out.print("\n".join(sweep_lines(report.fusion)), highlight=False, markup=False)
    if out_dir is not None:
        out.print(f"report: {out_dir / 'report.md'}")


@app.command()
def tune(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Choose the fusion weight for this store on queries made from the corpus itself (no labels needed)."""
    from rag.tune import tune_store

    settings = make_settings(data_dir)
    try:
        tuning = tune_store(settings, force=True)
    except WhoknowsError as exc:
        fail(exc)
    if tuning is None:  # pragma: no cover - force always tunes
        return
    if as_json:
        print(tuning.model_dump_json(indent=2))
        return
    origins = ", ".join(f"{n} {k}s" for k, n in tuning.by_origin.items())
    out.print(f"fusion [bold]{tuning.chosen.label}[/] chosen on {tuning.queries} pseudo-queries ({origins}); "
              "MRR by weight: " + "  ".join(f"{k} {v:.3f}" for k, v in tuning.mrr.items()))


@app.command()
def bench(
    what: Annotated[str, typer.Argument(help="ingest, query or concurrency.")],
    corpus: Annotated[Path, typer.Option("--corpus", help="Corpus folder (with qa.jsonl for query).")] = Path("data"),
    size: Annotated[int | None, typer.Option("--size", help="Use a generated corpus of this many chunks.")] = None,
    real: Annotated[int, typer.Option("--real", help="Chunks of a generated corpus embedded for real.")] = 1000,
    n: Annotated[int, typer.Option("--n", help="Questions timed by the query benchmark.")] = 100,
    clients: Annotated[int, typer.Option("--clients", help="Concurrent clients (concurrency).")] = 8,
    seconds: Annotated[float, typer.Option("--seconds", help="Length of the concurrency run.")] = 30.0,
    ingest_pages: Annotated[int, typer.Option("--ingest-pages", help="Concurrency: ingest this many new pages "
                                                                      "into a copy of the store meanwhile.")] = 0,
) -> None:
    """Benchmarks as ratios against a floor measured in the same run; prints JSON (see BENCHMARKS.md)."""
    import json

    from eval.bench import run

    if what not in ("ingest", "query", "concurrency"):
        fail(BadInput(f"unknown benchmark {what!r} - use ingest, query or concurrency", field="what"))
    try:
        result = run(what, corpus=corpus, size=size, real=real, n=n, clients=clients, seconds=seconds,
                     ingest_pages=ingest_pages)
    except WhoknowsError as exc:
        fail(exc)
    print(json.dumps(result, indent=2))


users_app = typer.Typer(no_args_is_help=True, help="Users of the API and their keys (auth turns on with the "
                                                     "first user).")
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's name (as in people.yaml, so source memberships apply).")],
    group: Annotated[list[str] | None, typer.Option("--group", help="A group they belong to (repeatable).")] = None,
    email: Annotated[str | None, typer.Option("--email", help="Their address: mail they sent or got is theirs.")]
    = None,
    data_dir: DataDir = None,
) -> None:
    """Add a user (or a new key for one) and print the key - once; only its hash is stored."""
    from api.auth import add_user

    settings = make_settings(data_dir)
    try:
        key = add_user(settings.users_path, name=name, groups=group or [], email=email)
    except WhoknowsError as exc:
        fail(exc)
    err.print(f"added a key for {name} to {settings.users_path}; it is shown only now:")
    print(key)


@users_app.command("list")
def users_list(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Users with their effective groups (given, mailbox, source memberships) and key ids - never keys."""
    import json

    from api.auth import Authenticator, UsersFile

    settings = make_settings(data_dir).model_copy(update={"auth": "on"})
    try:
        users = UsersFile.load(settings.users_path)
        auth = Authenticator(settings) if users.users else None
    except WhoknowsError as exc:
        fail(exc)
    rows = [{"name": u.name, "groups": list(auth.groups_of(u.name)) if auth else [], "keys": [k.id for k in u.keys]}
            for u in users.users]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        out.print(f"[bold]{r['name']}[/]  groups: {', '.join(r['groups']) or '-'}  keys: {', '.join(r['keys'])}")


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument(help="The user to remove, with all their keys.")],
                 data_dir: DataDir = None) -> None:
    """Remove a user and revoke every key they hold."""
    from api.auth import remove_user

    settings = make_settings(data_dir)
    if not remove_user(settings.users_path, name):
        fail(BadInput(f"no user named {name!r} in {settings.users_path}", field="name"))
    err.print(f"removed {name}")


# feedback, gaps, log replay|purge, people and codify live in their own modules and register on `app`.
import api.cli_db  # noqa: E402,F401
import api.cli_gaps  # noqa: E402,F401
import api.cli_profiles  # noqa: E402,F401


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

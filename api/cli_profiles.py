"""``whoknows people [NAME] [--team T]`` and ``whoknows codify TOPIC|THREAD_ID``: who knows what, and chat
written down as a draft page.

Imported by :mod:`api.cli` (plain ``import``); the commands register on its ``app``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli import DataDir, JsonOut, app, err, fail, make_settings, out
from rag.errors import WhoknowsError


@app.command()
def people(
    name: Annotated[str | None, typer.Argument(help="A colleague (name, alias or e-mail): their profile.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Rank this team's people by how much of the "
                                             "team's knowledge they hold (who to meet first).")] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Who knows what: everyone with their strongest topics, or one colleague's profile with its evidence."""
    from api.schemas import PersonSummaryOut, ProfileOut
    from rag.engine import QueryEngine
    from rag.profiles import list_people, profile

    try:
        engine = QueryEngine(make_settings(data_dir))
        if name is not None:
            p = profile(engine, name)
        else:
            listing = list_people(engine, team=team)
    except WhoknowsError as exc:
        fail(exc)
    if name is not None:
        if as_json:
            print(ProfileOut.from_domain(p).model_dump_json(indent=2))
            return
        _print_profile(p)
        return
    if as_json:
        print("[" + ",\n".join(PersonSummaryOut.from_domain(s).model_dump_json(indent=2) for s in listing) + "]")
        return
    for i, s in enumerate(listing, start=1):
        left = " [red](has left)[/]" if s.active is False else ""
        share = f" {s.share:.0%} of the team's knowledge," if s.share is not None else ""
        out.print(f"{i:2d}. [bold]{s.name}[/] ({s.team or 'no team'}){left} -{share} {s.pages} pages, "
                  f"{s.answers} threads answered; {'; '.join(s.topics) or 'nothing readable'}", highlight=False)


def _print_profile(p) -> None:  # type: ignore[no-untyped-def]
    left = " [red](has left)[/]" if p.active is False else ""
    out.print(f"[bold]{p.name}[/] - {p.team or 'no team'}{left}; last active {p.last_active or 'unknown'}; "
              f"quoted in {p.cited} answers, suggested in {p.suggested}", highlight=False)
    out.print("[bold]Strongest on[/]")
    for i, t in enumerate(p.strongest, start=1):
        out.print(f" {i}. {t.label}  [dim]({t.share:.0%} of what is known on it, credit {t.weight:.2f})[/]",
                  highlight=False)
        for e in t.evidence[:3]:
            out.print(f"      - {e.why} [dim]({e.source})[/]", highlight=False)
    out.print("[bold]Evidence[/]")
    for e in p.evidence[:12]:
        quoted = f", quoted {e.quoted}x" if e.quoted else ""
        out.print(f"  - {e.why} [dim]({e.kind}, {e.date or 'undated'}{quoted})[/]", highlight=False)
    if len(p.evidence) > 12:
        out.print(f"  [dim]and {len(p.evidence) - 12} more (--json lists all)[/]")


@app.command()
def codify(
    target: Annotated[str, typer.Argument(help="A topic (a gap report label such as 'sonoma / wireguard', or "
                                          "words) or a thread's doc id.")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the Markdown draft here.")] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Turn the chat threads that answer a topic into a draft wiki page (status: draft) for its authors to check."""
    from api.schemas import CodifyOut
    from rag.codify import codify as make_draft
    from rag.engine import QueryEngine

    try:
        draft = make_draft(QueryEngine(make_settings(data_dir)), target)
    except WhoknowsError as exc:
        fail(exc)
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(draft.markdown, encoding="utf-8")
        err.print(f"wrote {out_file} ({len(draft.sources)} threads, authors: {', '.join(draft.authors)})")
    if as_json:
        print(CodifyOut.from_domain(draft).model_dump_json(indent=2))
    elif out_file is None:
        print(draft.markdown)

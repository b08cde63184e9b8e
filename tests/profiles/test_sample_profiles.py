"""Expertise profiles over the sample organisation (data/), on the session's store."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from api.cli import app
from rag.config import Settings
from rag.engine import QueryEngine
from rag.errors import NotFound
from rag.profiles import list_people, profile
from rag.threads.answer import credit
from tests.rag.conftest import engine, sample_settings  # noqa: F401 - the session store, built once

pytestmark = [pytest.mark.slow]


def test_the_owner_of_a_system_has_its_topic_first(engine: QueryEngine) -> None:  # noqa: F811
    # data/wiki/route-solver-service.md, by Rafael Santos: "I inherited ownership ... talk to me first".
    p = profile(engine, "rsantos")  # an alias finds the person
    assert p.name == "Rafael Santos" and p.team == "Platform" and p.active is True
    top = p.strongest[0]
    assert "route-solver" in top.terms, [t.label for t in p.strongest]
    assert top.evidence[0].source == "wiki/route-solver-service.md"
    assert "named its owner" in top.evidence[0].why
    # The rest of what he wrote is there too, in topics of their own.
    sources = {e.source for e in p.evidence}
    assert {"wiki/terraform-conventions.md", "wiki/aws-cost-tagging.md"} <= sources
    assert p.last_active and p.last_active >= "2025"


def test_a_thread_credits_who_answered_never_who_asked(engine: QueryEngine) -> None:  # noqa: F811
    vpn = "slack/platform/2025-10-14.json#1760450718.379686"  # Ben Carter asked, Tomasz Wilk gave the fix
    tomasz = {e.source: e for e in profile(engine, "Tomasz Wilk").evidence}
    assert tomasz[vpn].role == "answered" and "Ben Carter" in tomasz[vpn].why and "#platform" in tomasz[vpn].why
    fatima = profile(engine, "Fatima Zahra")  # she asked in #sre-oncall on 2025-01-13; Rafael answered
    asked = "slack/sre-oncall/2025-01-13.json#1736768400.959898"
    assert asked not in {e.source for e in fatima.evidence}
    assert asked in {e.source for e in profile(engine, "Rafael Santos").evidence}


def _pages_and_answers(engine: QueryEngine, team: str) -> Counter[str]:  # noqa: F811
    """Independent of the profile code: pages whose main author is the person, threads they answered."""
    members = {p.name for p in engine.people.all() if p.team == team}
    docs: dict[str, list] = {}
    for c in engine.store.iter_chunks():
        docs.setdefault(c.doc_id, []).append(c)
    held: Counter[str] = Counter()
    for chunks in docs.values():
        c = chunks[0]
        if c.kind != "thread" and c.doc_authors and engine.people.canonical(c.doc_authors[0]) in members:
            held[engine.people.canonical(c.doc_authors[0])] += 1
        messages = [m for x in sorted(chunks, key=lambda x: x.index) for m in x.messages]
        weights = credit(messages)
        for name in {engine.people.canonical(m.author) for m in messages if m.id in weights} & members:
            held[name] += 1
    return held


def test_team_platform_ranks_who_wrote_most_of_its_pages_and_answers(engine: QueryEngine) -> None:  # noqa: F811
    ranked = list_people(engine, team="platform")  # team names match case-insensitively
    assert {p.name for p in ranked} == {"Maya Okafor", "Tomasz Wilk", "Rafael Santos"}
    expected = _pages_and_answers(engine, "Platform")
    order = [p.name for p in ranked]
    # Whoever wrote more of the team's pages and answers ranks higher (ties may go either way).
    assert all(order.index(a) < order.index(b) for a in expected for b in expected if expected[a] > expected[b]), \
        (order, expected)
    assert order[-1] == "Maya Okafor" and expected["Maya Okafor"] < min(expected["Tomasz Wilk"],
                                                                         expected["Rafael Santos"])
    assert abs(sum(p.share or 0 for p in ranked) - 1.0) < 1e-3
    assert [p.share for p in ranked] == sorted((p.share for p in ranked), reverse=True)
    with pytest.raises(NotFound, match="teams: .*Platform"):
        list_people(engine, team="Astronauts")


def test_everyone_listed_and_the_cli_prints_the_team(sample_settings: Settings,  # noqa: F811
                                                     engine: QueryEngine) -> None:  # noqa: F811
    everyone = list_people(engine)
    assert {p.name for p in engine.people.all()} <= {p.name for p in everyone}
    assert all(p.topics for p in everyone if p.knowledge > 0)
    left = {p.name: p.active for p in everyone}
    assert left["Jonas Berg"] is False and left["Kenji Watanabe"] is False

    runner = CliRunner()
    data = ["--data-dir", str(sample_settings.data_dir)]
    team = runner.invoke(app, ["people", "--team", "Platform", *data])
    assert team.exit_code == 0, team.output
    lines = [line for line in team.output.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    assert "Tomasz Wilk" in lines[0] and "of the team's knowledge" in lines[0]
    one = runner.invoke(app, ["people", "Rafael Santos", "--json", *data])
    assert one.exit_code == 0, one.output
    body = json.loads(one.output)
    assert "route-solver" in body["strongest"][0]["terms"] and body["evidence"]
    missing = runner.invoke(app, ["people", "Nobody Atall", *data])
    assert missing.exit_code == 1 and "No colleague named" in missing.output

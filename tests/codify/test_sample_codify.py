"""Codification drafts over the sample organisation: the chat-only VPN fix becomes a draft page."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from api.cli import app
from rag.codify import codify
from rag.config import Settings
from rag.engine import QueryEngine
from rag.errors import NotFound
from rag.gaps import build_report
from tests.gaps.conftest import NOW, ask_all, gap_engine, gap_settings  # noqa: F401 - fixtures
from tests.rag.conftest import sample_settings  # noqa: F401 - the session store, built once

pytestmark = [pytest.mark.slow]

VPN_THREAD = "slack/platform/2025-10-14.json#1760450718.379686"
FIX_STEPS = ("DNS = 10.20.0.2, internal.kestrel.example", "Limit IP address tracking",
             "sudo dscacheutil -flushcache", "toggle the tunnel off and on again")
VPN_QUESTIONS = [  # as in data/asked.jsonl: answered from the #platform thread alone
    ("Nora Lindqvist", "After updating my Mac to Sonoma, WireGuard says it's connected but internal hostnames "
                       "don't resolve. What do I do?", 30),
    ("Arjun Mehta", "WireGuard on macOS Sonoma connects but DNS for internal.kestrel.example fails, how do I fix it?",
     20),
    ("Grace Kim", "grafana.internal.kestrel.example does not resolve over the VPN on my Mac", 10),
]


def front_matter(markdown: str) -> dict:
    assert markdown.startswith("---\n")
    return yaml.safe_load(markdown.split("---\n", 2)[1])


def test_the_chat_only_vpn_topic_becomes_a_draft_with_the_fix_steps(gap_engine: QueryEngine,  # noqa: F811
                                                                     tmp_path: Path) -> None:
    ask_all(gap_engine, VPN_QUESTIONS)
    [topic] = [t for t in build_report(gap_engine, now=NOW).only_in_chat
               if VPN_THREAD in {d.source for d in t.threads}]
    assert topic.count == 3

    draft = codify(gap_engine, topic.label)
    # The steps, from Tomasz Wilk's reply, in the order he gave them; he is the author, Ben Carter asked.
    texts = [s.text for s in draft.steps]
    at = [next(i for i, t in enumerate(texts) if step in t) for step in FIX_STEPS]
    assert at == sorted(at) and len(texts) == 4, texts
    assert {s.author for s in draft.steps} == {"Tomasz Wilk"}
    assert draft.authors == ("Tomasz Wilk",)
    assert [q.author for q in draft.question] == ["Ben Carter"] and "Sonoma" in draft.question[0].text
    assert VPN_THREAD in {s.source for s in draft.sources}
    assert any(q.text == "comma" and q.context and "comma or space" in q.context.text for q in draft.answer)
    # His later "better fix" corrects step 1, and Ben found out it is per network: both to confirm.
    assert any("better fix" in c for c in draft.to_confirm) and any("per network" in c for c in draft.to_confirm)

    md = draft.markdown
    front = front_matter(md)
    assert front["kind"] == "wiki" and front["status"] == "draft"
    assert front["authors"] == ["Tomasz Wilk"] and front["sources"] == [s.source for s in draft.sources]
    assert all(step in md for step in FIX_STEPS) and "## To confirm" in md
    # Each quote links back to its own message: the thread, then the message's Slack ts.
    assert f"[message]({VPN_THREAD}/1760452468.563167)" in md

    out = tmp_path / "vpn.md"
    result = CliRunner().invoke(app, ["codify", topic.label, "--out", str(out), "--data-dir",
                                      str(gap_engine.settings.data_dir)])
    assert result.exit_code == 0, result.output
    assert front_matter(out.read_text())["status"] == "draft" and FIX_STEPS[0] in out.read_text()


def test_a_thread_id_codifies_that_thread_and_unknown_targets_are_not_found(gap_engine: QueryEngine  # noqa: F811
                                                                             ) -> None:
    [hit] = [h for h in gap_engine.search("WireGuard Sonoma DNS internal.kestrel.example", k=10)
             if h.chunk.source == VPN_THREAD][:1]
    draft = codify(gap_engine, hit.chunk.doc_id)
    assert [s.source for s in draft.sources] == [VPN_THREAD] and draft.authors == ("Tomasz Wilk",)
    assert draft.title.startswith("Hi all, VPN question")  # no gap topic: the thread's own title
    with pytest.raises(NotFound):
        codify(gap_engine, "zebra husbandry regulations in antarctica")


def test_an_ingested_draft_stays_chat_knowledge_until_reviewed(gap_engine: QueryEngine,  # noqa: F811
                                                                tmp_path: Path) -> None:
    from ingest.pipeline import ingest

    draft = codify(gap_engine, "WireGuard Sonoma internal DNS")
    page = tmp_path / "corpus" / "wiki" / "vpn-sonoma.md"
    page.parent.mkdir(parents=True)
    page.write_text(draft.markdown, encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "store")
    assert ingest(tmp_path / "corpus", settings).failed == []
    engine = QueryEngine(settings)
    chunk = min(engine.bm25.all_chunks(), key=lambda c: c.index)
    assert chunk.kind == "wiki" and chunk.doc_authors == ("Tomasz Wilk",) and chunk.title == draft.title

    answers = ask_all(engine, VPN_QUESTIONS[:2])
    assert all(a.citations and a.citations[0].kind == "wiki" for a in answers), "the draft page answers"
    [topic] = build_report(engine, now=NOW).only_in_chat  # cited a page, but an unreviewed draft
    assert topic.count == 2

    # A reviewed page on the same fix, shorter than the draft: retrieval alone puts the draft first; the
    # engine ranks the unreviewed draft below it.
    (page.parent / "vpn-dns.md").write_text(
        "---\ntitle: Mac VPN DNS\nauthors: [Tomasz Wilk]\n---\n# Mac VPN DNS\n\n"
        "Set `DNS = 10.20.0.2, internal.kestrel.example` in the tunnel, then flush the DNS cache.\n",
        encoding="utf-8")
    assert ingest(tmp_path / "corpus", settings).failed == []
    engine = QueryEngine(settings)
    q = VPN_QUESTIONS[0][1]
    raw = [h.chunk.source for h in engine.retriever.retrieve(q, k=5).hits]
    ranked = [h.chunk.source for h in engine.search(q, k=5)]
    assert raw[0] == "wiki/vpn-sonoma.md" and ranked[0] == "wiki/vpn-dns.md", (raw, ranked)

    # The author checks it: status reviewed, banner gone. The same logged answers now rest on a reviewed page.
    reviewed = "\n".join(line for line in draft.markdown.splitlines() if "**Draft**" not in line)
    page.write_text(reviewed.replace("status: draft", "status: reviewed"), encoding="utf-8")
    assert ingest(tmp_path / "corpus", settings).failed == []
    assert build_report(QueryEngine(settings), now=NOW).only_in_chat == ()

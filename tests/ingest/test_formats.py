"""Every source format, ingested once through ``ingest.pipeline.ingest`` and read back from Chroma."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import IngestSummary, ingest
from rag.config import Settings
from rag.types import Chunk
from tests.ingest.helpers import by_source, stored_chunks, write, write_json

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
# One reply long enough to need its own chunk windows (more than chunk_tokens=200 hashing tokens).
LONG_REPLY = " ".join(["The canary hangs because its health check still probes the old port, bump it in "
                       "values.yaml and redeploy."] * 12)
BUDGET_REPLY = " ".join(["Cara here: the error budget for checkout is ninety nine point nine percent and "
                         "the burn alert pages payments."] * 10)


def _markdown(root: Path) -> None:
    write(root, "wiki/deploy.md", """---
title: Deploy guide
authors: [Ann Lee, Bob Stone]
date: 2024-03-05
tags: [deploy, ops]
---
# Deploy

Intro text about how we deploy the monolith.

## Rollback

Use the rollback button in Argo before touching the database.

### Database

Restore the database from the nightly snapshot.

## Canary

The canary runs for ten minutes before promotion.
""")
    write(root, "retros/2024-02-outage.md", "# Outage retro\n\nThe queue filled up because retries had no jitter.\n")
    write(root, "notes/payments-postmortem.md",
          "---\ntype: postmortem\ntitle: Payments postmortem\n---\nStripe webhooks were replayed twice.\n")


def _html_txt(root: Path) -> None:
    write(root, "wiki/expenses.html", """<html><head><title>Expense policy</title>
<meta name="author" content="Carla Diaz"></head><body>
<h1>Expenses</h1><p>Submit receipts within thirty days of purchase.</p>
<h2>Travel</h2><p>Flights shorter than six hours are booked in economy class.</p>
</body></html>""")
    write(root, "wiki/oncall.txt", "On-call notes\n\nPage the secondary after fifteen minutes of silence.\n\n"
                                   "The pager rota lives in the shared calendar called Ops Rota.\n")


def _docx(root: Path) -> None:
    import docx

    d = docx.Document()
    d.core_properties.author = "Dana Fox"
    d.core_properties.title = "Access control policy"
    d.add_heading("Access control", 1)
    d.add_paragraph("Administrators rotate the signing keys every ninety days.")
    d.add_heading("Break glass", 2)
    d.add_paragraph("The break glass account password lives in the vault under ops/breakglass.")
    (root / "wiki").mkdir(exist_ok=True)
    d.save(str(root / "wiki" / "access.docx"))


def _pdf(root: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(root / "wiki" / "continuity.pdf") as pdf:
        fig = plt.figure(figsize=(8.5, 11))
        fig.text(0.1, 0.9, "Business continuity plan", fontsize=20)
        fig.text(0.1, 0.8, "The backup datacentre is in Frankfurt and failover takes four hours.", fontsize=10)
        pdf.savefig(fig)
        plt.close(fig)


def _slack(root: Path) -> None:
    ex = "slack-export"
    write_json(root, f"{ex}/users.json", [
        {"id": "U01ANN", "name": "ann", "profile": {"real_name": "Ann Lee"}},
        {"id": "U02BOB", "name": "bob", "profile": {"real_name": "Bob Stone"}},
        {"id": "U03CARA", "name": "cara", "profile": {"real_name": "Cara Diaz"}},
    ])
    write_json(root, f"{ex}/channels.json", [{"id": "C1", "name": "deploys"}, {"id": "C2", "name": "sre"}])
    parent = f"{T0:.6f}"
    write_json(root, f"{ex}/deploys/2023-11-14.json", [
        {"type": "message", "user": "U01ANN", "text": "Why is the canary stuck at 10%?", "ts": parent,
         "thread_ts": parent, "reply_count": 1},
        {"type": "message", "subtype": "channel_join", "user": "U03CARA", "text": "<@U03CARA> has joined",
         "ts": f"{T0 + 50:.6f}"},
        {"type": "message", "user": "U02BOB", "text": "morning all, coffee machine is fixed", "ts": f"{T0 + 100:.6f}"},
    ])
    # The reply lands in the next day's file and must still join its parent's thread.
    write_json(root, f"{ex}/deploys/2023-11-15.json", [
        {"type": "message", "user": "U02BOB", "text": LONG_REPLY + " cc <@U01ANN>", "ts": f"{T0 + 86400:.6f}",
         "thread_ts": parent},
    ])
    sre = f"{T0 + 3600:.6f}"
    write_json(root, f"{ex}/sre/2023-11-14.json", [
        {"type": "message", "user": "U01ANN", "text": "What is the checkout error budget?", "ts": sre,
         "thread_ts": sre},
        {"type": "message", "user": "U02BOB", "text": "Not sure, Cara owns it.", "ts": f"{T0 + 3700:.6f}",
         "thread_ts": sre},
        {"type": "message", "user": "U03CARA", "text": BUDGET_REPLY, "ts": f"{T0 + 3800:.6f}", "thread_ts": sre},
    ])


MBOX = """From ann@x.org Mon Jan  1 10:00:00 2024
From: Ann Lee <ann@x.org>
To: ops@x.org
Subject: Backup rotation
Message-ID: <m1@x.org>
Date: Mon, 1 Jan 2024 10:00:00 +0000

Who rotates the offsite backup tapes?

From bob@x.org Mon Jan  1 11:00:00 2024
From: Bob Stone <bob@x.org>
To: ops@x.org
Subject: Re: Backup rotation
Message-ID: <m2@x.org>
In-Reply-To: <m1@x.org>
References: <m1@x.org>
Date: Mon, 1 Jan 2024 11:00:00 +0000

I swap the tapes every Friday at the Leeds office.

On Mon, 1 Jan 2024 at 10:00, Ann Lee <ann@x.org> wrote:
> Who rotates the offsite backup tapes?

From cara@x.org Mon Jan  1 12:00:00 2024
From: Cara Diaz <cara@x.org>
To: all@x.org
Subject: Lunch on Friday
Message-ID: <m3@x.org>
Date: Mon, 1 Jan 2024 12:00:00 +0000

Pizza in the big room.
"""


def _email(root: Path) -> None:
    write(root, "mail/ops.mbox", MBOX)
    # References only (no In-Reply-To), in a separate .eml file: joins the mbox thread.
    write(root, "mail/late-reply.eml", """From: Dana Fox <dana@x.org>
Subject: Re: Backup rotation
Message-ID: <m5@x.org>
References: <m1@x.org> <m2@x.org>
Date: Wed, 3 Jan 2024 09:00:00 +0000

The tape safe code changed, ask facilities.
""")
    # No threading headers at all: joins by subject.
    write(root, "mail/no-headers.eml", """From: Eve Park <eve@x.org>
Subject: RE: Backup rotation
Message-ID: <m4@x.org>
Date: Tue, 2 Jan 2024 09:00:00 +0000

Thanks Bob, I wrote it into the runbook.

> I swap the tapes every Friday at the Leeds office.
> quoted text that must not be stored
""")


def _thread_json(root: Path) -> None:
    write_json(root, "threads/flaky.json", {"title": "Flaky CI", "channel": "eng", "messages": [
        {"user": "Ann Lee", "body": "CI is flaky again on the date test", "time": "2024-01-02T10:00:00Z"},
        {"sender": "Bob Stone", "text": "It fails across midnight UTC", "date": "2024-01-02T11:00:00Z"},
        {"from": {"name": "Cara Diaz", "email": "cara@x.org"}, "body": "Pinned the clock, fixed",
         "ts": 1704200000},
    ]})


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[IngestSummary, dict[str, list[Chunk]]]:
    base = tmp_path_factory.mktemp("formats")
    root = base / "corpus"
    root.mkdir()
    for build in (_markdown, _html_txt, _docx, _pdf, _slack, _email, _thread_json):
        build(root)
    settings = Settings(embedder="hashing", data_dir=base / "data")
    summary = ingest(root, settings)
    return summary, by_source(stored_chunks(settings))


def _thread_starting(chunks: dict[str, list[Chunk]], prefix: str) -> list[Chunk]:
    hits = [cs for src, cs in chunks.items() if src.startswith(prefix)]
    assert len(hits) == 1, f"expected one document under {prefix}, got {list(chunks)}"
    return hits[0]


def test_every_format_lands_without_failures(ingested):
    summary, chunks = ingested
    assert summary.failed == []
    assert {"wiki/deploy.md", "wiki/expenses.html", "wiki/oncall.txt", "wiki/access.docx", "wiki/continuity.pdf",
            "threads/flaky.json", "retros/2024-02-outage.md", "notes/payments-postmortem.md"} <= set(chunks)
    # wiki: deploy.md, html, txt, docx, pdf; retro: 2 Markdown notes;
    # thread: 2 Slack threads + 1 day of loose messages, 2 e-mail threads, 1 thread JSON
    assert summary.by_kind == {"wiki": 5, "retro": 2, "thread": 6}
    assert summary.documents == 13


def test_markdown_front_matter_and_heading_sections(ingested):
    _, chunks = ingested
    page = chunks["wiki/deploy.md"]
    assert {c.title for c in page} == {"Deploy guide"}
    assert {c.authors for c in page} == {("Ann Lee", "Bob Stone")}
    assert {c.date for c in page} == {"2024-03-05"}
    assert {c.kind for c in page} == {"wiki"}
    sections = {c.section: c.text for c in page}
    assert "Deploy > Rollback > Database" in sections
    assert "nightly snapshot" in sections["Deploy > Rollback > Database"]
    assert "ten minutes" in sections["Deploy > Canary"]
    assert "rollback button" in sections["Deploy > Rollback"]
    assert not any("title: Deploy guide" in c.text for c in page), "front matter leaked into the text"


def test_markdown_tags_are_kept_on_the_document(tmp_path):
    """Chunks do not carry tags (Chroma metadata has no use for them), the loaded Document does."""
    from ingest.context import LoadContext
    from ingest.loaders.files import load_markdown
    from rag.people import PeopleDirectory

    root = tmp_path / "c"
    _markdown(root)
    ctx = LoadContext(root=root, people=PeopleDirectory(), sidecar={})
    doc = load_markdown(ctx, root / "wiki" / "deploy.md")
    assert doc.tags == ("deploy", "ops")
    assert doc.format == "markdown"


def test_retros_recognised_by_folder_and_front_matter(ingested):
    _, chunks = ingested
    assert {c.kind for c in chunks["retros/2024-02-outage.md"]} == {"retro"}
    assert {c.kind for c in chunks["notes/payments-postmortem.md"]} == {"retro"}
    assert chunks["retros/2024-02-outage.md"][0].title == "Outage retro"


def test_html_meta_author_title_and_heading_sections(ingested):
    _, chunks = ingested
    page = chunks["wiki/expenses.html"]
    assert {c.title for c in page} == {"Expense policy"}
    assert {c.authors for c in page} == {("Carla Diaz",)}
    travel = [c for c in page if c.section.endswith("Travel")]
    assert len(travel) == 1 and "economy class" in travel[0].text
    assert travel[0].section == "Expenses > Travel"
    assert all("<p>" not in c.text and "<meta" not in c.text for c in page)


def test_plain_text_keeps_every_paragraph(ingested):
    _, chunks = ingested
    page = chunks["wiki/oncall.txt"]
    text = "\n".join(c.text for c in page)
    assert page[0].title == "On-call notes"
    for phrase in ("On-call notes", "fifteen minutes of silence", "Ops Rota"):
        assert phrase in text


def test_docx_headings_and_core_properties(ingested):
    _, chunks = ingested
    page = chunks["wiki/access.docx"]
    assert {c.title for c in page} == {"Access control policy"}
    assert {c.authors for c in page} == {("Dana Fox",)}
    glass = [c for c in page if "vault" in c.text]
    assert len(glass) == 1 and glass[0].section.endswith("Break glass")
    assert any("ninety days" in c.text for c in page)


def test_pdf_text_extracted(ingested):
    _, chunks = ingested
    text = "\n".join(c.text for c in chunks["wiki/continuity.pdf"])
    assert "Frankfurt" in text and "four hours" in text
    assert chunks["wiki/continuity.pdf"][0].title == "Business continuity plan"


def test_slack_reply_in_next_day_file_joins_parent_thread(ingested):
    _, chunks = ingested
    thread = chunks[f"slack-export/deploys/2023-11-14.json#{T0:.6f}"]
    assert {c.kind for c in thread} == {"thread"}
    assert {c.channel for c in thread} == {"deploys"}
    assert thread[0].title == "Why is the canary stuck at 10%?"
    authors_in_order = [m.author for c in thread for m in c.messages]
    assert authors_in_order[0] == "Ann Lee" and set(authors_in_order) == {"Ann Lee", "Bob Stone"}
    assert "old port" in "\n".join(c.text for c in thread)
    # No document was made of the reply's day file alone.
    assert not any(src.startswith("slack-export/deploys/2023-11-15.json") for src in chunks)


def test_slack_user_ids_resolved_and_joins_skipped(ingested):
    _, chunks = ingested
    slack = [c for src, cs in chunks.items() if src.startswith("slack-export/") for c in cs]
    everything = "\n".join(c.text for c in slack) + "".join(a for c in slack for a in c.authors)
    assert "U01ANN" not in everything and "U02BOB" not in everything and "U03CARA" not in everything
    assert "@Ann Lee" in everything  # <@U01ANN> mention rewritten
    assert "has joined" not in everything
    loose = chunks["slack-export/deploys/2023-11-14.json"]  # the day's messages outside any thread
    assert [m.author for c in loose for m in c.messages] == ["Bob Stone"]


def test_slack_chunk_credits_the_lines_author_not_thread_starter(ingested):
    _, chunks = ingested
    thread = _thread_starting(chunks, "slack-export/sre/")
    assert len(thread) >= 2, "the long reply should need a chunk window of its own"
    for c in thread:
        assert set(c.authors) == {m.author for m in c.messages}
        assert c.doc_authors[0] in {"Ann Lee", "Bob Stone", "Cara Diaz"}
    cara_only = [c for c in thread if "error budget" in c.text and "What is the checkout" not in c.text]
    assert cara_only, "Cara's answer should sit in a chunk without the question"
    for c in cara_only:
        assert c.authors == ("Cara Diaz",)
        assert "Ann Lee" not in c.authors


def test_email_threads_by_headers_and_subject(ingested):
    _, chunks = ingested
    backup = _thread_starting(chunks, "mail/ops.mbox#m1@x.org")
    msgs = [m for c in backup for m in c.messages]
    assert [m.author for m in msgs] == ["Ann Lee", "Bob Stone", "Eve Park", "Dana Fox"]
    assert {c.title for c in backup} == {"Backup rotation"}
    lunch = _thread_starting(chunks, "mail/ops.mbox#m3@x.org")
    assert [m.author for c in lunch for m in c.messages] == ["Cara Diaz"]
    assert not any(src.startswith("mail/no-headers.eml") or src.startswith("mail/late-reply.eml")
                   for src in chunks), "replies must join their thread, not become documents"


def test_email_quoted_lines_and_attribution_dropped(ingested):
    _, chunks = ingested
    backup = _thread_starting(chunks, "mail/ops.mbox#m1@x.org")
    by_author = {m.author: m.text for c in backup for m in c.messages}
    assert by_author["Bob Stone"] == "I swap the tapes every Friday at the Leeds office."
    assert by_author["Eve Park"] == "Thanks Bob, I wrote it into the runbook."
    text = "\n".join(c.text for c in backup)
    assert "must not be stored" not in text and "wrote:" not in text
    assert text.count("Friday at the Leeds office") == 1


def test_thread_json_alternative_spellings(ingested):
    _, chunks = ingested
    thread = chunks["threads/flaky.json"]
    msgs = [m for c in thread for m in c.messages]
    assert [m.author for m in msgs] == ["Ann Lee", "Bob Stone", "Cara Diaz"]
    assert [m.text for m in msgs] == ["CI is flaky again on the date test", "It fails across midnight UTC",
                                      "Pinned the clock, fixed"]
    assert msgs[0].ts == "2024-01-02T10:00:00+00:00"
    assert msgs[1].ts == "2024-01-02T11:00:00+00:00"
    assert msgs[2].ts == "2024-01-02T12:53:20+00:00"
    assert {c.title for c in thread} == {"Flaky CI"}
    assert {c.channel for c in thread} == {"eng"}
    assert {c.date for c in thread} == {"2024-01-02"}


def test_email_reply_to_a_missing_message_joins_by_subject(corpus, settings):
    write(corpus, "a.eml", "From: Ann Lee <ann@x.org>\nSubject: Printer on floor 3\nMessage-ID: <p1@x.org>\n"
                           "Date: Mon, 1 Jan 2024 10:00:00 +0000\n\nThe floor 3 printer jams on A3.\n")
    # In-Reply-To names a message that is not in the corpus (it was never exported).
    write(corpus, "b.eml", "From: Bob Stone <bob@x.org>\nSubject: Re: Printer on floor 3\nMessage-ID: <p3@x.org>\n"
                           "In-Reply-To: <p2-not-exported@x.org>\nDate: Mon, 1 Jan 2024 12:00:00 +0000\n\n"
                           "Use tray 2 for A3, tray 1 has a bent guide.\n")
    summary = ingest(corpus, settings)
    assert summary.failed == [] and summary.documents == 1
    (thread,) = by_source(stored_chunks(settings)).values()
    assert [m.author for c in thread for m in c.messages] == ["Ann Lee", "Bob Stone"]


@pytest.mark.parametrize(("access", "expected"), [("eng", ("eng",)), (["eng", "ops"], ("eng", "ops")),
                                                  ("eng, ops", ("eng", "ops"))])
def test_thread_json_access_groups(corpus, settings, access, expected):
    write_json(corpus, "t.json", {"access": access, "messages": [{"author": "Ann Lee", "text": "secret plan"}]})
    ingest(corpus, settings)
    (chunk,) = stored_chunks(settings)
    assert chunk.access == expected

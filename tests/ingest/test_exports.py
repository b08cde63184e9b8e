"""Exports as organisations hand them over: a Slack export zip, a Slack export given as the root, a
Notion export zip, and archives that hold no documents."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from ingest.pipeline import ingest
from tests.ingest.helpers import by_source, stored_chunks, write, write_json

USERS = [{"id": "U01ANN", "name": "ann", "profile": {"real_name": "Ann Lee", "email": "ann@kestrel.example"}},
         {"id": "U02BOB", "name": "bob", "profile": {"real_name": "Bob Stone"}},
         {"id": "U03DEP", "name": "deploybot", "is_bot": True, "profile": {"real_name": "Deploy Bot"}}]
CHANNELS = [{"id": "C01", "name": "ops", "created": 1704067200, "members": ["U01ANN", "U02BOB"]}]
DAY1 = [
    {"type": "message", "user": "U01ANN", "text": "Who owns the <#C09|billing> cron?", "ts": "1704103200.000100",
     "thread_ts": "1704103200.000100", "reply_count": 1},
    {"type": "message", "subtype": "bot_message", "bot_id": "B0GH", "username": "GitHub",
     "text": "Pull request merged #42: bump the cron image", "ts": "1704106800.000200"},
    {"type": "message", "subtype": "channel_join", "user": "U02BOB", "text": "<@U02BOB> has joined the channel",
     "ts": "1704107000.000300"},
]
DAY2 = [
    {"type": "message", "user": "U02BOB", "text": "I do - it lives in infra/cron.", "ts": "1704189600.000100",
     "thread_ts": "1704103200.000100", "parent_user_id": "U01ANN"},
    {"type": "message", "subtype": "file_comment", "text": "<@U01ANN> commented on <@U02BOB>'s file runbook.pdf: "
     "page 3 is out of date", "ts": "1704193200.000200",
     "comment": {"id": "Fc1", "user": "U01ANN", "comment": "page 3 is out of date", "timestamp": 1704193200},
     "file": {"id": "F1", "name": "runbook.pdf"}},
    {"type": "message", "user": "U03DEP", "bot_id": "B0DEP", "text": "Deployed billing 1.4.2 to production.",
     "ts": "1704196800.000300"},
    {"type": "message", "subtype": "file_share", "user": "U02BOB", "text": "Updated escalation sheet attached.",
     "files": [{"id": "F2", "name": "escalation.xlsx", "title": "Escalation"}], "upload": True,
     "ts": "1704200400.000400"},
]


def slack_export(root: Path) -> None:
    write_json(root, "users.json", USERS)
    write_json(root, "channels.json", CHANNELS)
    write_json(root, "ops/2024-01-01.json", DAY1)
    write_json(root, "ops/2024-01-02.json", DAY2)


def _check_slack(settings, prefix: str) -> None:
    docs = by_source(stored_chunks(settings))
    thread = docs[f"{prefix}ops/2024-01-01.json#1704103200.000100"][0]
    assert [(m.author, m.text) for m in thread.messages] == [
        ("Ann Lee", "Who owns the #billing cron?"), ("Bob Stone", "I do - it lives in infra/cron.")]
    assert thread.messages[1].reply_to == "1704103200.000100" and thread.messages[1].role == "answer"
    day1 = docs[f"{prefix}ops/2024-01-01.json"][0]
    assert [(m.author, m.role) for m in day1.messages] == [("GitHub [bot]", "bot")]
    day2 = docs[f"{prefix}ops/2024-01-02.json"][0]
    assert [m.author for m in day2.messages] == ["Ann Lee", "Deploy Bot [bot]", "Bob Stone"]
    assert day2.doc_authors == ("Ann Lee", "Bob Stone")  # bots are never document authors
    assert "page 3 is out of date" in day2.messages[0].text
    assert not any("has joined" in m.text for cs in docs.values() for c in cs for m in c.messages)


def test_slack_export_given_as_the_ingest_root(corpus, settings):
    slack_export(corpus)

    summary = ingest(corpus, settings)

    assert summary.failed == []
    _check_slack(settings, "")
    assert summary.outcomes["users.json"] == "skipped" and summary.outcomes["ops/2024-01-02.json"] == "stored"


def _zip(path: Path, members: dict[str, bytes | str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_a_slack_export_zip_is_read_as_the_folder_it_contains(corpus, settings, tmp_path):
    src = tmp_path / "export"
    slack_export(src)
    _zip(corpus / "exports" / "Kestrel Slack export Jan 2024.zip",
         {p.relative_to(src).as_posix(): p.read_bytes() for p in sorted(src.rglob("*.json"))})

    summary = ingest(corpus, settings)

    assert summary.failed == []
    _check_slack(settings, "exports/Kestrel Slack export Jan 2024.zip/")
    assert summary.outcomes["exports/Kestrel Slack export Jan 2024.zip/ops/2024-01-01.json"] == "stored"
    again = ingest(corpus, settings)  # unpacked once: the second run finds everything unchanged
    assert again.added == again.replaced == again.deleted == 0 and again.unchanged == summary.documents


NOTION_PAGE = "# Onboarding checklist\n\nOwner: People Ops\n\nNew starters get a laptop on day one.\n"


def test_a_notion_export_zip_with_a_database(corpus, settings):
    _zip(corpus / "Export-7f3c.zip", {
        "Team wiki 0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f/Onboarding checklist 9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d.md":
            NOTION_PAGE,
        "Team wiki 0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f/Services 1234567890abcdef1234567890abcdef.csv":
            "Name,Owner,Tier\nbilling,Ann Lee,1\nrouting,Chen Wu,2\n",
        "Team wiki 0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f/diagram.png": b"\x89PNG" + bytes(10),
    })

    summary = ingest(corpus, settings)

    assert summary.failed == []
    docs = by_source(stored_chunks(settings))
    base = "Export-7f3c.zip/Team wiki 0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f/"
    assert docs[base + "Onboarding checklist 9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d.md"][0].title == "Onboarding checklist"
    table = docs[base + "Services 1234567890abcdef1234567890abcdef.csv"]
    assert table[0].title == "Services" and "| billing | Ann Lee | 1 |" in table[0].text
    assert summary.outcomes[base + "diagram.png"] == "skipped"


def test_archives_without_documents_and_hostile_members(corpus, settings):
    _zip(corpus / "photos.zip", {"a.jpg": b"\xff\xd8" + bytes(10), "b.png": b"\x89PNG"})
    _zip(corpus / "slip.zip", {"../../evil.md": "# Evil\n\nwritten outside\n", "ok.md": "# Ok\n\nInside.\n"})
    write(corpus, "broken.zip", b"PK\x03\x04 not really")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("inner.md", "# Inner\n\nNested.\n")
    _zip(corpus / "outer.zip", {"inner.zip": buf.getvalue(), "top.md": "# Top\n\nOuter page.\n"})

    summary = ingest(corpus, settings)

    reasons = {s.path: s.reason for s in summary.skipped}
    assert "unknown content" in reasons["photos.zip"]
    assert "leaves the archive" in reasons["slip.zip/../../evil.md"]
    assert "archive inside an archive" in reasons["outer.zip/inner.zip"]
    assert [f.path for f in summary.failed] == ["broken.zip"]
    assert set(by_source(stored_chunks(settings))) == {"slip.zip/ok.md", "outer.zip/top.md"}
    assert not list(settings.data_dir.parent.rglob("evil.md"))
    assert json.loads(summary.model_dump_json())["files"]["failed"] == 1


def test_an_email_saved_as_txt_is_read_as_mail(corpus, settings):
    write(corpus, "saved/Re badge reader.txt", "From: Ann Lee <ann@kestrel.example>\nTo: it@kestrel.example\n"
          "Subject: Badge reader on door 4\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <b1@kestrel.example>\n\n"
          "The badge reader on door 4 needs a hard reset after power cuts.\n")
    write(corpus, "notes/plain.txt", "From the desk of nobody: this is just a note.\n\nIt is not mail.\n")

    assert ingest(corpus, settings).failed == []

    docs = by_source(stored_chunks(settings))
    mail = docs["saved/Re badge reader.txt"][0]
    assert mail.kind == "thread" and [m.author for m in mail.messages] == ["Ann Lee"]
    assert mail.messages[0].ts == "2024-01-01T10:00:00+00:00"
    assert docs["notes/plain.txt"][0].kind == "wiki"

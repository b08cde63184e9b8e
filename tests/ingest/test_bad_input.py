"""Corrupt files next to good ones: the good ones land, each bad one is reported with path and reason."""

from __future__ import annotations

import json

import pytest

from ingest.pipeline import ingest
from rag.errors import BadInput
from tests.ingest.helpers import by_source, run_cli, stored_chunks, write, write_json

GOOD_EML = ("From: Ann Lee <ann@x.org>\nSubject: Badge reader\nMessage-ID: <g1@x.org>\n"
            "Date: Mon, 1 Jan 2024 10:00:00 +0000\n\nThe badge reader on door 4 needs a hard reset.\n")


def good_and_bad(root):
    write(root, "good.md", "---\ntitle: Good page\n---\nThe good page survives its neighbours.\n")
    write(root, "good.html", "<html><body><h1>Fine</h1><p>HTML next to junk still lands.</p></body></html>")
    write(root, "mail/good.eml", GOOD_EML)
    write_json(root, "threads/good.json", {"messages": [{"author": "Ann Lee", "text": "A good thread."}]})
    write(root, "junk.md", bytes(range(256)) * 40)  # binary junk named .md
    write(root, "threads/truncated.json", '{"title": "Cut off", "messages": [{"author": "Bob", "text": "hal')
    write(root, "mail/empty.mbox", "")
    write(root, "badyaml.md", "---\ntitle: [unclosed\nauthors: Ann\n---\nBody text.\n")


BAD = {"junk.md": "binary", "threads/truncated.json": "invalid json", "mail/empty.mbox": "empty",
       "badyaml.md": "yaml"}


def test_good_files_land_and_each_bad_one_is_reported(corpus, settings):
    good_and_bad(corpus)

    summary = ingest(corpus, settings)

    reasons = {f.path: f.reason for f in summary.failed}
    assert set(reasons) == set(BAD)
    for path, word in BAD.items():
        assert word in reasons[path].lower(), reasons[path]
    sources = set(by_source(stored_chunks(settings)))
    assert sources == {"good.md", "good.html", "mail/good.eml", "threads/good.json"}
    assert summary.documents == 4


def test_bad_files_are_retried_and_land_once_fixed(corpus, settings):
    good_and_bad(corpus)
    ingest(corpus, settings)
    write(corpus, "badyaml.md", "---\ntitle: Fixed now\n---\nBody text.\n")
    write_json(corpus, "threads/truncated.json", {"messages": [{"author": "Bob", "text": "half a thought, now whole"}]})
    (corpus / "junk.md").unlink()
    (corpus / "mail" / "empty.mbox").unlink()

    summary = ingest(corpus, settings)

    assert summary.failed == []
    assert summary.added == 2 and summary.unchanged == 4
    assert {"badyaml.md", "threads/truncated.json"} <= set(by_source(stored_chunks(settings)))


def test_a_good_file_turning_bad_is_reported(corpus, settings):
    write(corpus, "a.md", "# A\n\nFine for now.\n")
    write(corpus, "b.md", "# B\n\nStays fine.\n")
    ingest(corpus, settings)
    write(corpus, "a.md", b"\x00\x01\x02 binary now" * 100)

    summary = ingest(corpus, settings)

    assert [f.path for f in summary.failed] == ["a.md"]
    assert "b.md" in by_source(stored_chunks(settings))


@pytest.mark.parametrize(("name", "content", "word"), [
    ("notes.xyz", "whatever", "unsupported"),
    ("empty.md", "---\ntitle: Only front matter\n---\n", "no text"),
    ("list.json", '{"not": "a thread"}', "messages"),
    ("scan.pdf", b"%PDF-1.4 this is not really a pdf", "pdf"),
    ("page.docx", b"PK\x03\x04 not a zip at all", "docx"),
    ("headerless.eml", "just some words, no headers\n", "header"),
], ids=["unsupported-ext", "front-matter-only", "json-not-thread", "fake-pdf", "fake-docx", "eml-no-headers"])
def test_unreadable_or_unsupported_files_are_reported(corpus, settings, name, content, word):
    write(corpus, "good.md", "# Good\n\nStill here.\n")
    write(corpus, name, content)

    summary = ingest(corpus, settings)

    assert [f.path for f in summary.failed] == [name]
    assert word in summary.failed[0].reason.lower()
    assert set(by_source(stored_chunks(settings))) == {"good.md"}


def test_broken_slack_day_file_spares_the_rest_of_the_export(corpus, settings):
    write_json(corpus, "slack/users.json", [{"id": "U1", "profile": {"real_name": "Ann Lee"}}])
    write_json(corpus, "slack/channels.json", [{"id": "C1", "name": "general"}])
    write_json(corpus, "slack/general/2024-01-01.json", [{"user": "U1", "text": "hello there", "ts": "1704103200.1"}])
    write(corpus, "slack/general/2024-01-02.json", '[{"user": "U1", "text": "cut')

    summary = ingest(corpus, settings)

    assert [f.path for f in summary.failed] == ["slack/general/2024-01-02.json"]
    assert "slack/general/2024-01-01.json" in by_source(stored_chunks(settings))


def test_corrupt_people_yaml_is_a_clear_error(corpus, settings):
    write(corpus, "people.yaml", "people: [name: {broken")
    write(corpus, "a.md", "# A\n\ntext\n")
    with pytest.raises(BadInput, match="people"):
        ingest(corpus, settings)


def test_corrupt_authors_sidecar_is_reported_and_the_rest_lands(corpus, settings):
    write(corpus, "AUTHORS.json", "{not json")
    write(corpus, "a.md", "# A\n\ntext\n")

    summary = ingest(corpus, settings)

    assert [f.path for f in summary.failed] == ["AUTHORS.json"]
    assert set(by_source(stored_chunks(settings))) == {"a.md"}


def test_missing_folder_is_a_clear_error(tmp_path, settings):
    with pytest.raises(BadInput, match="not a folder"):
        ingest(tmp_path / "nope", settings)


@pytest.mark.integration
def test_cli_exits_1_when_files_failed_and_0_when_all_landed(corpus, tmp_path):
    good_and_bad(corpus)
    data = tmp_path / "cli-data"

    failed = run_cli("ingest", str(corpus), "--json", "--data-dir", str(data))

    assert failed.returncode == 1, failed.stderr
    report = json.loads(failed.stdout)
    assert {f["path"] for f in report["failed"]} == set(BAD)
    assert all(f["reason"] for f in report["failed"])
    assert report["documents"] == 4

    for bad in BAD:
        (corpus / bad).unlink()
    clean = run_cli("ingest", str(corpus), "--json", "--data-dir", str(data))

    assert clean.returncode == 0, clean.stderr
    report = json.loads(clean.stdout)
    assert report["failed"] == [] and report["documents"] == 4 and report["embedded"] == 0
    assert (data / "chroma").is_dir() and (data / "manifest.sqlite").is_file()

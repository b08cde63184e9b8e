"""Fuzz-style: many malformed files (seeded, so a failure reproduces) among good ones in every format.

The ingest finishes, reports every bad file with a reason, and loses nothing good - on the first run and
on the re-run, which retries the bad files and rewrites nothing.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from tests.ingest.helpers import stored_chunks, write, write_json

pytestmark = pytest.mark.slow

THREAD = {"title": "Cache warmup", "messages": [
    {"author": "Ann Lee", "text": "The cache warmup job runs at five every morning before traffic arrives."},
    {"author": "Bob Stone", "text": "It reads the top ten thousand keys from yesterday's access log."}]}
EML = ("From: Ann Lee <ann@x.org>\nSubject: {subject}\nMessage-ID: <{mid}@x.org>\n"
       "Date: Mon, 1 Jan 2024 10:00:00 +0000\n\n{body}\n")


def good_files(root: Path, rnd: random.Random) -> dict[str, str]:
    """Write good files in every shape that should land; returns path -> a word only that file holds."""
    marks: dict[str, str] = {}

    def mark(path: str) -> str:
        marks[path] = f"goodmark{len(marks):03d}x{rnd.randrange(10**6):06d}"
        return marks[path]

    write(root, "wiki/plain.md", f"# Plain\n\nA plain page about {mark('wiki/plain.md')} rollouts.\n")
    write(root, "wiki/crlf.md", f"# Windows\r\n\r\nLine endings from {mark('wiki/crlf.md')} editors.\r\n")
    write(root, "wiki/cp1252.md", f"# Café\n\nThe café menu lists {mark('wiki/cp1252.md')} crème brûlée.\n"
          .encode("cp1252"))
    write(root, "wiki/bom.md", b"\xef\xbb\xbf" + f"# BOM\n\nA page saved with a BOM: {mark('wiki/bom.md')}.\n"
          .encode())
    write(root, "wiki/utf16.md", f"# Sixteen\n\nSaved as UTF-16 by an old editor: {mark('wiki/utf16.md')}.\n"
          .encode("utf-16"))
    huge = " ".join(rnd.choice(["queue", "worker", "shard", "replica", "lease"]) for _ in range(8_000))
    write(root, "wiki/huge-line.md", f"# One line\n\n{huge} {mark('wiki/huge-line.md')} {huge}\n")
    write(root, "notes/huge-line.txt", f"Notes\n\n{huge} {mark('notes/huge-line.txt')}\n")
    write(root, "wiki/page.html", f"<html><body><h1>Html</h1><p>Markup page on {mark('wiki/page.html')}.</p>"
          "</body></html>")
    thread = json.loads(json.dumps(THREAD))
    thread["messages"][0]["text"] += f" {mark('threads/good.json')}"
    write_json(root, "threads/good.json", thread)
    write(root, "mail/good.eml", EML.format(subject="Door 4", mid="g1", body=f"Reset it: {mark('mail/good.eml')}"))
    # A Slack export without users.json: names come from each message's profile, nothing is lost.
    write_json(root, "slack/channels.json", [{"id": "C1", "name": "ops"}])
    write_json(root, "slack/ops/2024-01-01.json", [
        {"user": "U1", "user_profile": {"real_name": "Ann Lee"}, "ts": "1704103200.1",
         "text": f"Failover drill on Friday {mark('slack/ops/2024-01-01.json')}"}])
    return marks


def bad_files(root: Path, rnd: random.Random) -> set[str]:
    """Write malformed files; returns the paths that must each be reported."""
    bad: set[str] = set()

    def put(rel: str, data: str | bytes) -> None:
        write(root, rel, data)
        bad.add(rel)

    text = json.dumps(THREAD)
    for i in range(8):
        put(f"threads/truncated-{i}.json", text[: rnd.randrange(10, len(text) - 2)])
    for i in range(6):
        junk = bytearray(rnd.randbytes(rnd.randrange(64, 20_000)))
        junk[rnd.randrange(min(len(junk), 8000))] = 0
        put(f"wiki/junk-{i}.md", bytes(junk))
    for i in range(4):
        put(f"wiki/control-{i}.md", bytes(rnd.choice([1, 2, 3, 7, 8, 11, 14, 27, 31]) for _ in range(500)))
    shapes = ["null", "[1, 2, 3]", '"just a string"', '{"messages": "not a list"}', '{"messages": [1, 2]}',
              '{"messages": []}', "{}", "[" * 50_000 + "]" * 50_000]
    for i, shape in enumerate(shapes):
        put(f"threads/shape-{i}.json", shape)
    put("threads/not-utf8.json", b'{"messages": [{"author": "\xff\xfe\xfa", "text": ')
    put("wiki/empty.md", "")
    put("wiki/blank.md", " \n\n\t \n")
    put("wiki/front-only.md", "---\ntitle: Only front matter\n---\n")
    put("wiki/bad-yaml.md", "---\ntitle: [unclosed\n---\nBody.\n")
    put("wiki/junk.html", bytes(range(256)) * 20)
    put("wiki/fake.pdf", b"%PDF-1.4 truncated right here")
    put("wiki/fake.docx", b"PK\x03\x04 not really a zip")
    write(root, "wiki/program.exe", b"MZ\x90\x00")  # no document: reported as skipped, not failed
    put("mail/empty.mbox", "")
    put("mail/headerless.eml", "no headers at all, only words\n")
    return bad


@pytest.mark.parametrize("seed", [7, 8])
def test_malformed_files_are_each_reported_and_nothing_good_is_lost(corpus, settings, seed):
    rnd = random.Random(seed)
    marks = good_files(corpus, rnd)
    bad = bad_files(corpus, rnd)
    reported_too = {"slack/users.json"}  # missing: reported, while its messages still land

    first = ingest(corpus, settings)
    second = ingest(corpus, settings)

    for run in (first, second):
        reasons = {f.path: f.reason for f in run.failed}
        assert set(reasons) == bad | reported_too, sorted(set(reasons) ^ (bad | reported_too))
        assert all(len(r) > 10 and "Traceback" not in r for r in reasons.values()), reasons
        assert "not a document" in {s.path: s.reason for s in run.skipped}["wiki/program.exe"]
    assert "binary" in {f.path: f.reason for f in first.failed}["wiki/junk-0.md"]
    assert "nested too deeply" in {f.path: f.reason for f in first.failed}["threads/shape-7.json"]
    text = "\n".join(c.text for c in stored_chunks(settings))
    lost = [p for p, word in marks.items() if word not in text]
    assert lost == []
    assert first.documents == second.documents == len(marks)
    assert second.embedded == 0 and second.added == 0 and second.unchanged == len(marks)
    assert "crème brûlée" in text and "Café" in {c.title for c in stored_chunks(settings)}

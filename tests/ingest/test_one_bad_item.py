"""One bad item costs only itself: a hostile mail, message, access value or front matter next to good ones.

Each test plants the hostile item beside good ones and asserts that the good ones land, the bad one is
reported with its own path and a reason, and the run finishes with its summary.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest

from ingest.access import parse_declared
from ingest.chunking import Chunker
from ingest.context import LoadContext
from ingest.loaders.email import load_email
from ingest.pipeline import ingest
from rag.config import Settings
from rag.people import PeopleDirectory
from rag.types import Document
from tests.ingest.helpers import by_source, stored_chunks, write, write_json

EML = ("From: Ann Lee <ann@x.org>\nTo: Bob Stone <bob@x.org>\nSubject: {subject}\nMessage-ID: <{mid}@x.org>\n"
       "{extra}Date: Mon, 1 Jan 2024 10:{minute:02d}:00 +0000\n\n{body}\n")


@pytest.mark.parametrize(("value", "groups"), [
    ("eng", ("eng",)), ("eng, ops", ("eng", "ops")), (["eng", "ops", "eng"], ("eng", "ops")), (None, ()),
    ("public", ("public",)), ("eng,", ("eng",)),
])
def test_the_access_validator_reads_group_names(value: object, groups: tuple[str, ...]) -> None:
    parsed = parse_declared(value)
    assert parsed.error is None and parsed.groups == groups


@pytest.mark.parametrize("value", [{"groups": ["eng"]}, 5, 0, 2.5, True, False, [["eng"]], [], "", " , ",
                                   ["eng", 7], ["eng", ""], [None], ("eng", {"x": 1})])
def test_the_access_validator_refuses_every_other_shape(value: object) -> None:
    parsed = parse_declared(value)
    assert parsed.groups == () and parsed.error and "access" in parsed.error


def test_front_matter_and_thread_json_refuse_the_same_shapes(corpus: Path, settings: Settings) -> None:
    write(corpus, "page.md", "---\ntitle: Page\naccess: {groups: [eng]}\n---\n# Page\n\nThe rota is on the wall.\n")
    write_json(corpus, "thread.json", {"access": {"groups": ["eng"]}, "messages": [{"author": "Ann", "text": "hi"}]})
    write(corpus, "open.md", "---\ntitle: Open\naccess: [eng]\n---\n# Open\n\nThe canteen opens at noon.\n")
    summary = ingest(corpus, settings)
    reasons = {f.path: f.reason for f in summary.failed}
    assert set(reasons) == {"page.md", "thread.json"}
    assert all("a mapping" in r and "readable by nobody" in r for r in reasons.values())
    chunks = by_source(stored_chunks(settings))
    assert chunks["page.md"][0].access == chunks["thread.json"][0].access == ()
    assert chunks["open.md"][0].access == ("eng",)
    # Reported again on every run until fixed, and fixing it stores the declared groups.
    assert {f.path for f in ingest(corpus, settings).failed} == {"page.md", "thread.json"}
    write(corpus, "page.md", "---\ntitle: Page\naccess: [eng]\n---\n# Page\n\nThe rota is on the wall.\n")
    assert {f.path for f in ingest(corpus, settings).failed} == {"thread.json"}
    assert by_source(stored_chunks(settings))["page.md"][0].access == ("eng",)


def test_a_symlink_loop_or_a_link_out_of_the_root_fails_alone(corpus: Path, settings: Settings,
                                                               tmp_path: Path) -> None:
    for i in range(3):
        write(corpus, f"mail/good-{i}.eml", EML.format(subject=f"Door {i}", mid=f"g{i}", extra="", minute=i,
                                                        body=f"Door {i} needs a hard reset."))
    os.symlink("loop.eml", corpus / "mail" / "loop.eml")
    outside = write(tmp_path, "elsewhere/secret.eml", EML.format(subject="Outside", mid="o1", extra="", minute=9,
                                                                   body="Not part of this corpus."))
    os.symlink(outside, corpus / "mail" / "out.eml")
    summary = ingest(corpus, settings)
    mails = {c.source for c in stored_chunks(settings)}
    assert mails == {f"mail/good-{i}.eml" for i in range(3)}
    texts = " ".join(c.text for c in stored_chunks(settings))
    assert "Not part of this corpus" not in texts
    reported = {f.path for f in summary.failed} | {f.path for f in summary.skipped}
    assert {"mail/loop.eml", "mail/out.eml"} <= reported, summary
    assert not {p for p in reported if p.startswith("mail/good")}
    # The e-mail loader itself, handed the same files: each bad one fails alone, named by its own path.
    ctx = LoadContext(root=corpus.resolve(), people=PeopleDirectory(), sidecar={})
    res = load_email(ctx, sorted((corpus / "mail").iterdir()))
    assert {d.source for d in res.documents} == {f"mail/good-{i}.eml" for i in range(3)}
    reasons = {f.path: f.reason for f in res.failures}
    assert set(reasons) == {"mail/loop.eml", "mail/out.eml"}
    assert "symlink loop" in reasons["mail/loop.eml"] and "outside the corpus root" in reasons["mail/out.eml"]


def test_a_reply_chain_of_1500_mails_is_one_thread(corpus: Path, settings: Settings) -> None:
    n = 1500
    parts = []
    # Newest first and undated, so the thread's root is found by walking 1,500 In-Reply-To links at once.
    for i in reversed(range(n)):
        extra = f"In-Reply-To: <c{i - 1}@x.org>\n" if i else ""
        mail = EML.format(subject="Re: Long chain" if i else "Long chain", mid=f"c{i}", extra=extra, minute=0,
                          body=f"Reply number {i} in the chain.")
        mail = mail.replace("Date: Mon, 1 Jan 2024 10:00:00 +0000\n", "")
        parts.append(f"From ann@x.org Mon Jan  1 10:00:00 2024\n{mail}\n")
    write(corpus, "mail/chain.mbox", "".join(parts))
    write(corpus, "mail/other.eml", EML.format(subject="Parking", mid="p1", extra="", minute=5,
                                               body="The car park closes at eight."))
    summary = ingest(corpus, settings)
    assert summary.failed == [], summary.failed
    docs = by_source(stored_chunks(settings))
    assert set(docs) == {"mail/chain.mbox#c0@x.org", "mail/other.eml"}
    texts = {m.text for c in docs["mail/chain.mbox#c0@x.org"] for m in c.messages}
    assert texts == {f"Reply number {i} in the chain." for i in range(n)}


def test_one_slack_message_with_a_bad_timestamp_fails_alone(corpus: Path, settings: Settings) -> None:
    write_json(corpus, "slack/users.json", [{"id": "U1", "profile": {"real_name": "Ann Lee"}}])
    write_json(corpus, "slack/channels.json", [{"id": "C1", "name": "ops"}])
    write_json(corpus, "slack/ops/2024-01-01.json", [
        {"user": "U1", "text": "The failover drill is on Friday.", "ts": "1704103200.1"},
        {"user": "U1", "text": "Bring your laptop.", "ts": "yesterday"},
        {"user": "U1", "text": ["not", "text"], "ts": "1704103300.1"},
        {"user": ["U1"], "text": "Odd user field.", "ts": "1704103400.1"},
        {"user": "U1", "text": "A reply to nothing.", "ts": "1704103500.1", "thread_ts": {"x": 1}},
        {"user": "U1", "text": "The drill ends at noon.", "ts": "1704103600.1"}])
    write_json(corpus, "slack/ops/2024-01-02.json", [{"user": "U1", "text": "Drill done.", "ts": "1704189600.1"}])
    summary = ingest(corpus, settings)
    reasons = {f.path: f.reason for f in summary.failed}
    assert set(reasons) == {f"slack/ops/2024-01-01.json#{i}" for i in (1, 2, 3, 4)}, reasons
    assert "'yesterday' is not a Slack timestamp" in reasons["slack/ops/2024-01-01.json#1"]
    docs = by_source(stored_chunks(settings))
    day1 = " ".join(c.text for c in docs["slack/ops/2024-01-01.json"])
    assert "failover drill" in day1 and "ends at noon" in day1 and "laptop" not in day1
    assert "Drill done." in docs["slack/ops/2024-01-02.json"][0].text


def test_a_lone_surrogate_in_thread_json_does_not_stop_the_run(corpus: Path, settings: Settings) -> None:
    write(corpus, "threads/odd.json", '{"title": "Odd \\ud800 title", "messages": [{"author": "Ann Lee", '
                                      '"text": "Broken \\udc00 pair, then the runbook link."}]}')
    write(corpus, "good.md", "# Good\n\nThe good page lands.\n")
    summary = ingest(corpus, settings)
    assert summary.failed == [] and summary.documents == 2
    (chunk,) = by_source(stored_chunks(settings))["threads/odd.json"]
    assert "Broken \ufffd pair" in chunk.text and chunk.title == "Odd \ufffd title"


BILLION_LAUGHS = "\n".join(["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
                            *[f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]"
                              for i in range(8)]])


@pytest.mark.parametrize("field", ["authors", "title", "tags", "access"])
def test_billion_laughs_front_matter_is_refused(corpus: Path, settings: Settings, field: str) -> None:
    write(corpus, "laughs.md", f"---\n{BILLION_LAUGHS}\n{field}: *i\n---\n# Laughs\n\nBody.\n")
    write(corpus, "anchors.md", "---\nowner: &o Ann Lee\nauthors: [*o]\ntitle: Anchored\n---\n# A\n\nFine.\n")
    summary = ingest(corpus, settings)
    reasons = {f.path: f.reason for f in summary.failed}
    assert set(reasons) == {"laughs.md"} and "aliases" in reasons["laughs.md"]
    (chunk,) = by_source(stored_chunks(settings))["anchors.md"]  # a modest alias is still fine
    assert chunk.doc_authors == ("Ann Lee",) and chunk.title == "Anchored"


class _CountingDocument(Document):
    """A document that counts how often its whole-text hash is computed (a real subclass, not a mock)."""

    calls: ClassVar[int] = 0

    @property
    def content_hash(self) -> str:
        _CountingDocument.calls += 1
        return super().content_hash


def test_the_content_hash_is_computed_once_per_document_not_per_chunk() -> None:
    words = " ".join(f"word{i}" for i in range(3000))
    doc = _CountingDocument(doc_id="d", source="big.txt", title="Big", kind="wiki", format="text", text=words)
    chunks = Chunker(count_tokens=lambda s: len(s.split()), chunk_tokens=50, overlap=5).chunk(doc)
    assert len(chunks) > 50 and _CountingDocument.calls == 1
    assert {c.content_hash for c in chunks} == {Document.model_validate(doc.model_dump()).content_hash}

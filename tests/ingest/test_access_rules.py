"""Access rules at ingest: globs, defaults, precedence, and the groups sources imply."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.access import AccessRules, glob_to_regex, slack_memberships
from ingest.pipeline import ingest
from rag.access import Memberships, can_read, person_groups
from rag.config import Settings
from rag.errors import BadInput
from rag.people import PeopleDirectory
from rag.types import Person
from tests.ingest.helpers import by_source, stored_chunks, write, write_json


@pytest.mark.parametrize(
    ("glob", "path", "hit"),
    [
        ("wiki/security/**", "wiki/security/keys.md", True),
        ("wiki/security/**", "wiki/security/deep/er/keys.md", True),
        ("wiki/security/**", "wiki/securityish/keys.md", False),
        ("wiki/security/", "wiki/security/a/b.md", True),
        ("wiki/*.md", "wiki/deploy.md", True),
        ("wiki/*.md", "wiki/sub/deploy.md", False),  # * stays inside one folder
        ("**/secret-*.md", "secret-plan.md", True),  # **/ also matches no folder at all
        ("**/secret-*.md", "a/b/secret-plan.md", True),
        ("email/leadership.mbox", "email/leadership.mbox", True),
        ("email/leadership.mbox", "email/leadership.mbox.bak", False),  # anchored at the end
        ("retros/202?-*.md", "retros/2024-x.md", True),
        ("retros/202?-*.md", "retros/20245-x.md", False),
        ("/wiki/a.md", "wiki/a.md", True),  # a leading slash means the corpus root
    ],
)
def test_globs(glob: str, path: str, hit: bool) -> None:
    assert bool(glob_to_regex(glob).match(path)) is hit


def test_precedence_declared_then_rule_then_source_then_default(tmp_path: Path) -> None:
    (tmp_path / "access.yaml").write_text("wiki/security/**: [security]\nemail/eng-all.mbox: public\n"
                                          "wiki/**: staff, contractors\n")
    rules = AccessRules.load(tmp_path, default="public")
    # 1. what the document declares wins over everything
    assert rules.resolve("wiki/security/a.md", declared=["sre"], from_source=["slack:x"]) == ("sre",)
    # 2. first matching rule in file order (security before the broader wiki/**)
    assert rules.resolve("wiki/security/a.md") == ("security",)
    assert rules.resolve("wiki/other.md") == ("staff", "contractors")
    # ... and a rule beats what the source implies: an admin can open a mailing list to everyone
    assert rules.resolve("email/eng-all.mbox#m1@x", from_source=["email:eng-all@x.org"]) == ("public",)
    # 3. the source's audience when no rule matches
    assert rules.resolve("email/leadership.mbox#m2@x", from_source=["email:ceo@x.org"]) == ("email:ceo@x.org",)
    # 4. the default for everything else
    assert rules.resolve("retros/r.md") == ("public",)


def test_configured_default_applies_without_access_yaml(tmp_path: Path) -> None:
    rules = AccessRules.load(tmp_path, default="staff")
    assert rules.rules == () and rules.resolve("wiki/a.md") == ("staff",)


@pytest.mark.parametrize("text", ["- not a mapping\n", "wiki/**: []\n", "wiki/**: [a\n"])
def test_broken_access_yaml_stops_the_ingest(corpus: Path, settings: Settings, text: str) -> None:
    write(corpus, "wiki/a.md", "# A\n\nSome text.\n")
    write(corpus, "access.yaml", text)
    with pytest.raises(BadInput, match="access.yaml"):
        ingest(corpus, settings)
    assert not settings.chroma_path.exists(), "nothing may be stored while the access rules are unknown"


def _slack_export(root: Path) -> None:
    write_json(root, "slack/users.json", [
        {"id": "U1", "name": "ann", "real_name": "Ann Lee", "profile": {"email": "ann@x.org"}},
        {"id": "U2", "name": "bob", "real_name": "Bob Stone", "profile": {"email": "bob@x.org"}},
    ])
    write_json(root, "slack/channels.json", [{"id": "C1", "name": "general", "members": ["U1", "U2"]}])
    write_json(root, "slack/groups.json", [{"id": "G1", "name": "vault", "members": ["U1"], "is_private": True}])
    write_json(root, "slack/general/2024-01-02.json", [{"user": "U2", "text": "Lunch is at noon today.",
                                                        "ts": "1704189600.000100"}])
    write_json(root, "slack/vault/2024-01-02.json", [{"user": "U1", "text": "The vault combination rotates "
                                                      "on Fridays.", "ts": "1704189600.000200"}])


def test_every_source_gets_its_groups(corpus: Path, settings: Settings) -> None:
    write(corpus, "people.yaml", "people:\n  - name: Ann Lee\n    email: ann@x.org\n")
    write(corpus, "access.yaml", "wiki/hr/**: [hr]\n")
    write(corpus, "wiki/open.md", "# Open\n\nEveryone may read this page.\n")
    write(corpus, "wiki/hr/pay.md", "# Pay bands\n\nBands are reviewed in March.\n")
    write(corpus, "wiki/hr/override.md", "---\naccess: [hr-leads]\n---\n# Override\n\nOnly leads.\n")
    write_json(corpus, "threads/t.json", {"access": "ops", "messages": [{"author": "Ann Lee", "text": "ops only"}]})
    write(corpus, "mail/a.eml", "From: Ann Lee <ann@x.org>\nTo: Bob Stone <bob@x.org>\nCc: list@x.org\n"
                                "Subject: Budget\nMessage-ID: <b1@x.org>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\n"
                                "The budget is due.\n")
    write(corpus, "mail/b.eml", "From: Carol <carol@x.org>\nTo: Ann Lee <ann@x.org>\nSubject: Re: Budget\n"
                                "Message-ID: <b2@x.org>\nIn-Reply-To: <b1@x.org>\n"
                                "Date: Mon, 1 Jan 2024 11:00:00 +0000\n\nIt is late.\n")
    _slack_export(corpus)
    summary = ingest(corpus, settings)
    assert summary.failed == []
    access = {src.split("#")[0]: chunks[0].access for src, chunks in by_source(stored_chunks(settings)).items()}
    assert access["wiki/open.md"] == ("public",)
    assert access["wiki/hr/pay.md"] == ("hr",)
    assert access["wiki/hr/override.md"] == ("hr-leads",)  # front matter beats access.yaml
    assert access["threads/t.json"] == ("ops",)
    # every sender and recipient of the whole thread, lists included
    assert access["mail/a.eml"] == ("email:ann@x.org", "email:bob@x.org", "email:carol@x.org", "email:list@x.org")
    assert access["slack/vault/2024-01-02.json"] == ("slack:vault",)
    assert access["slack/general/2024-01-02.json"] == ("public",)
    # members of the private channel are recorded (by name and address) for resolving callers' groups
    members = Memberships.load(settings.memberships_path)
    assert members.groups == {"slack:vault": ["Ann Lee", "ann@x.org"]}


def test_two_corpora_keep_their_own_channel_members_and_a_removal_takes_effect(tmp_path: Path,
                                                                              settings: Settings) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _slack_export(first)
    _slack_export(second)
    write_json(second, "slack/groups.json", [{"id": "G2", "name": "payroll", "members": ["U2"], "is_private": True}])
    write_json(second, "slack/payroll/2024-01-02.json", [{"user": "U2", "text": "Payroll runs on the 25th.",
                                                          "ts": "1704189600.000300"}])
    ingest(first, settings)
    ingest(second, settings)
    assert Memberships.load(settings.memberships_path).groups == {
        "slack:payroll": ["Bob Stone", "bob@x.org"], "slack:vault": ["Ann Lee", "ann@x.org"]}, \
        "ingesting a second corpus keeps the first one's private-channel members"

    write_json(first, "slack/groups.json", [{"id": "G1", "name": "vault", "members": [], "is_private": True}])
    ingest(first, settings)
    assert Memberships.load(settings.memberships_path).groups == {"slack:payroll": ["Bob Stone", "bob@x.org"]}, \
        "someone removed from a channel loses its group at the next ingest"


def test_default_access_setting_marks_unruled_documents(corpus: Path, tmp_path: Path) -> None:
    settings = Settings(embedder="hashing", data_dir=tmp_path / "data", default_access="staff")
    write(corpus, "wiki/a.md", "# A\n\nStaff only by default.\n")
    write(corpus, "wiki/b.md", "---\naccess: public\n---\n# B\n\nOpen.\n")
    ingest(corpus, settings)
    access = {src: chunks[0].access for src, chunks in by_source(stored_chunks(settings)).items()}
    assert access == {"wiki/a.md": ("staff",), "wiki/b.md": ("public",)}


def test_changing_access_yaml_reingests_with_new_groups(corpus: Path, settings: Settings) -> None:
    write(corpus, "wiki/a.md", "# A\n\nText.\n")
    ingest(corpus, settings)
    write(corpus, "access.yaml", "wiki/**: [eng]\n")
    summary = ingest(corpus, settings)
    assert summary.replaced == 1
    assert [c.access for c in stored_chunks(settings)] == [("eng",)]


def test_same_text_with_different_access_stays_two_documents(corpus: Path, settings: Settings) -> None:
    body = "# Runbook\n\nRestart the queue worker.\n"
    write(corpus, "wiki/a.md", body)
    write(corpus, "wiki/b.md", "---\naccess: [ops]\n---\n" + body)
    summary = ingest(corpus, settings)
    assert summary.documents == 2 and summary.duplicates == 0
    assert sorted(c.access for c in stored_chunks(settings)) == [("ops",), ("public",)]


def test_slack_memberships_resolve_through_the_people_directory(tmp_path: Path) -> None:
    _slack_export(tmp_path)
    people = PeopleDirectory([Person(name="Ann Lee", aliases=("ann",), email="ann@x.org")])
    members = slack_memberships(tmp_path / "slack", people)
    assert members.groups == {"slack:vault": ["Ann Lee", "ann@x.org"]}


def test_a_persons_groups_come_from_users_yaml_mailbox_and_memberships() -> None:
    people = PeopleDirectory([Person(name="Ann Lee", aliases=("ann",), email="Ann@X.org")])
    members = Memberships(groups={"slack:vault": ["Ann Lee"], "slack:other": ["Bob Stone"]})
    groups = person_groups(name="ann", email=None, groups=["eng"], people=people, memberships=members)
    assert groups == ("email:ann@x.org", "eng", "slack:vault")
    assert can_read(("slack:vault",), groups) and not can_read(("slack:other",), groups)
    assert can_read(("public",), ()) and can_read(("anything",), None)

"""Access declarations fail closed, over real HTTP: a broken one never publishes what it meant to restrict.

Every shape below once made a document public (Slack metadata that is truncated or not a list, a thread
JSON ``"access"`` of the wrong type) or is refused the same way in front matter. Each planted document
holds one made-up word; nobody - not an outsider, not the group it named, not the members the broken file
listed - may find it through ``/ask``, ``/search`` or ``/documents``, and the ingest summary says why.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.auth import add_user
from ingest.pipeline import IngestSummary, ingest
from rag.access import Memberships
from rag.config import Settings
from rag.engine import QueryEngine
from tests.api.serving import running
from tests.ingest.helpers import by_source, stored_chunks, write, write_json

pytestmark = [pytest.mark.integration]

FRONT_MATTER = {"mapping": "{groups: [security]}", "number": "5", "boolean": "true", "nested": "[[security]]",
                "empty": "[]", "mixed": "[security, 7]", "blank": "[security, '  ']"}
THREAD_JSON: dict[str, object] = {"mapping": {"groups": ["security"]}, "number": 5, "boolean": True,
                                  "nested": [["security"]], "empty": [], "mixed": ["security", 7],
                                  "blank": ["security", "  "], "null-item": [None]}


def _made_up_words() -> Iterator[str]:
    """Words no other document holds ('zyxbaquill', 'zyxbbquill', ...): each finds one document only."""
    for i in itertools.count(26):
        yield "zyx" + "".join(chr(97 + (i // 26**k) % 26) for k in (1, 0)) + "quill"


WORDS = _made_up_words()


@dataclass
class Planted:
    source: str  # the stored document's primary source
    reported: str  # the path the ingest summary must list
    word: str
    access: tuple[str, ...] = ()  # what it is stored with: no group, or a private channel nobody is known in


def _slack(root: Path, name: str, *, metadata: dict[str, str | object], private_dir: str,
           planted: list[Planted], public_words: list[str], with_public: bool = True) -> None:
    """An export with a listed public channel and one private-channel folder whose metadata is broken."""
    write_json(root, f"{name}/users.json", [
        {"id": "U1", "name": "ann", "real_name": "Ann Lee", "profile": {"email": "ann@acme.test"}},
        {"id": "U2", "name": "pat", "real_name": "Pat Public", "profile": {"email": "pat@acme.test"}}])
    for file, content in metadata.items():
        if isinstance(content, str):
            write(root, f"{name}/{file}", content)
        else:
            write_json(root, f"{name}/{file}", content)
    if with_public:
        public = next(WORDS)
        public_words.append(public)
        write_json(root, f"{name}/general/2024-03-01.json", [
            {"user": "U2", "text": f"The {public} rota is on the wall.", "ts": "1709287200.000100"}])
    word = next(WORDS)
    day = f"{name}/{private_dir}/2024-03-01.json"
    write_json(root, day, [{"user": "U1", "text": f"The {word} cipher lives in the red binder.",
                            "ts": "1709287200.000200"}])
    planted.append(Planted(source=day, reported=f"{name}/{private_dir}", word=word,
                           access=(f"slack:{private_dir}",)))


def write_corpus(root: Path) -> tuple[list[Planted], list[str]]:
    """(documents that must be readable by nobody, words of public documents everyone must find)."""
    planted: list[Planted] = []
    public_words = [next(WORDS)]
    write(root, "people.yaml", "people:\n  - {name: Ann Lee, email: ann@acme.test}\n"
                               "  - {name: Pat Public, email: pat@acme.test}\n")
    write(root, "wiki/deploy.md", f"---\ntitle: Deploying\naccess: public\n---\n# Deploying\n\n"
                                  f"The {public_words[0]} pipeline deploys from main after review.\n")
    for shape, value in FRONT_MATTER.items():
        word = next(WORDS)
        rel = f"wiki/fm-{shape}.md"
        write(root, rel, f"---\ntitle: Page {shape}\naccess: {value}\n---\n# Page\n\n"
                         f"The {word} procedure rotates the vault keys.\n")
        planted.append(Planted(rel, rel, word))
    for shape, declared in THREAD_JSON.items():
        word = next(WORDS)
        rel = f"threads/t-{shape}.json"
        write_json(root, rel, {"title": f"Thread {shape}", "access": declared,
                               "messages": [{"author": "Ann Lee", "text": f"The {word} plan is ready."}]})
        planted.append(Planted(rel, rel, word))
    truncated_groups = '[{"id": "G1", "name": "vault", "members": ["U1"]'
    listed = [{"id": "C1", "name": "general", "members": ["U1", "U2"]}]
    _slack(root, "slack-truncated", metadata={"channels.json": listed, "groups.json": truncated_groups},
           private_dir="vault", planted=planted, public_words=public_words)
    _slack(root, "slack-mapping", metadata={"channels.json": listed,
                                            "groups.json": {"groups": [{"id": "G1", "name": "vault",
                                                                        "members": ["U1"]}]}},
           private_dir="vault", planted=planted, public_words=public_words)
    _slack(root, "slack-mpims", metadata={"channels.json": listed, "mpims.json": "[{"},
           private_dir="mpdm-ann--pat-1", planted=planted, public_words=public_words)
    _slack(root, "slack-dms", metadata={"channels.json": listed, "dms.json": 7},
           private_dir="D0123", planted=planted, public_words=public_words)
    _slack(root, "slack-unlisted", metadata={"channels.json": listed}, private_dir="hidden",
           planted=planted, public_words=public_words)
    _slack(root, "slack-no-channels", metadata={}, private_dir="general", planted=planted,
           public_words=public_words, with_public=False)
    _slack(root, "slack-broken-channels", metadata={"channels.json": '{"channels": ['}, private_dir="general",
           planted=planted, public_words=public_words, with_public=False)
    return planted, public_words


@dataclass
class Site:
    url: str
    keys: dict[str, str]
    planted: list[Planted]
    public_words: list[str]
    summary: IngestSummary
    settings: Settings

    def h(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("failclosed")
    settings = Settings(embedder="hashing", data_dir=base / "data", auth="on", rate_limit_burst=100_000)
    planted, public_words = write_corpus(base / "corpus")
    summary = ingest(base / "corpus", settings)
    users = settings.users_path
    keys = {"outsider": add_user(users, name="Olive Outsider", groups=["engineering"]),
            # 'security' is the group the broken declarations named; ann is the member broken files listed.
            "insider": add_user(users, name="Ivan Insider", groups=["security", "vault"]),
            "ann": add_user(users, name="Ann Lee", groups=[], email="ann@acme.test")}
    app = create_app(settings, engine=QueryEngine(settings))
    with running(app) as url:
        yield Site(url, keys, planted, public_words, summary, settings)


def test_each_refused_declaration_is_reported_with_its_reason(site: Site) -> None:
    reasons = {f.path: f.reason for f in site.summary.failed}
    for p in site.planted:
        assert p.reported in reasons, (p.reported, sorted(reasons))
        assert "readable by nobody" in reasons[p.reported], reasons[p.reported]
    assert "groups.json" in reasons["slack-truncated/groups.json"]
    assert "expected a JSON list" in reasons["slack-mapping/groups.json"]


def test_refused_documents_are_stored_with_no_reader(site: Site) -> None:
    chunks = by_source(stored_chunks(site.settings))
    for p in site.planted:
        assert p.source in chunks, f"{p.source} is not stored at all"
        assert {c.access for c in chunks[p.source]} == {p.access}, (p.source, chunks[p.source][0].access)
    # The members a broken channel list names are not trusted either: nobody holds those channels' groups.
    members = Memberships.load(site.settings.memberships_path).groups
    assert not {a for p in site.planted for a in p.access} & set(members), members
    # The listed public channels and the declared-public page stay public: failing closed is per folder.
    public = [c for cs in chunks.values() for c in cs if any(w in c.text for w in site.public_words)]
    assert len(public) == len(site.public_words) and all(c.access == ("public",) for c in public)


def test_nobody_finds_a_refused_document_over_http(site: Site) -> None:
    engine = QueryEngine(site.settings)
    ids = {c.source: c.doc_id for c in stored_chunks(site.settings)}
    for p in site.planted:
        # Without the access check the word finds its document: the HTTP answers below are not vacuous.
        assert [c.source for c, _ in engine.bm25.search(p.word, k=1)] == [p.source]
    for user in site.keys:
        h = site.h(user)
        for p in site.planted:
            found = httpx.get(f"{site.url}/search", params={"q": p.word, "k": 50}, headers=h, timeout=30)
            answer = httpx.post(f"{site.url}/ask", json={"question": f"What is the {p.word}?"}, headers=h,
                                timeout=30)
            document = httpx.get(f"{site.url}/documents/{ids[p.source]}", headers=h, timeout=10)
            assert found.status_code == answer.status_code == 200
            assert p.word not in found.text and p.word not in answer.text.replace(f"What is the {p.word}?", "")
            assert all(c["doc_id"] != ids[p.source] for c in answer.json()["citations"])
            assert document.status_code == 404 and p.word not in document.text, (user, p.source)


def test_public_documents_are_still_found(site: Site) -> None:
    h = site.h("outsider")
    for word in site.public_words:
        hits = httpx.get(f"{site.url}/search", params={"q": word, "k": 5}, headers=h, timeout=30).json()
        assert hits and word in hits[0]["text"], word

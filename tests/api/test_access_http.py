"""Access control over real HTTP: a planted restricted document never reaches anyone outside its group.

One small corpus, ingested with the hashing embedder, served by a real uvicorn on loopback with auth on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.auth import add_user
from ingest.ids import document_id, root_id
from ingest.pipeline import ingest
from rag.config import Settings
from rag.engine import QueryEngine
from tests.api.serving import LogCapture, running
from tests.ingest.helpers import write, write_json

pytestmark = [pytest.mark.integration]

PHRASE = "quantum marmalade"
TITLE = "Operation Quantum Marmalade"
AUTHOR = "Zebulon Quarrington"
BODY = "ninth Tuesday"
SECRET_SOURCE = "wiki/security/marmalade.md"


def write_corpus(root: Path) -> None:
    """Public pages, one page restricted by access.yaml, a private Slack channel and a private e-mail."""
    write(root, "people.yaml", "people:\n"
          "  - {name: Ann Lee, aliases: [ann], email: ann@acme.test, team: Platform}\n"
          "  - {name: Pat Public, email: pat@acme.test, team: Platform}\n")
    write(root, "access.yaml", "wiki/security/**: [security]\n")
    write(root, "wiki/deploy.md", "---\ntitle: Deploying services\nauthors: [Pat Public]\n---\n# Deploying\n\n"
          "Deploys go out from the main branch after review. The vault credentials used by the deploy "
          "pipeline are fetched at start-up.\n")
    write(root, "wiki/oncall.md", "---\ntitle: On-call handbook\nauthors: [Ann Lee]\n---\n# On-call\n\n"
          "The primary acknowledges a page within fifteen minutes, then posts in the incident channel.\n")
    write(root, SECRET_SOURCE, f"---\ntitle: {TITLE}\nauthors: [{AUTHOR}]\n---\n# {TITLE}\n\n"
          f"The {PHRASE} protocol rotates the vault credentials every {BODY}. Only the security team "
          f"runs the {PHRASE} rotation, from the hardened jump host.\n")
    write_json(root, "slack/users.json", [
        {"id": "U1", "name": "ann", "real_name": "Ann Lee", "profile": {"email": "ann@acme.test"}},
        {"id": "U2", "name": "pat", "real_name": "Pat Public", "profile": {"email": "pat@acme.test"}}])
    write_json(root, "slack/channels.json", [{"id": "C1", "name": "general", "members": ["U1", "U2"]}])
    write_json(root, "slack/groups.json", [{"id": "G1", "name": "vault-team", "members": ["U1"],
                                            "is_private": True}])
    write_json(root, "slack/general/2024-03-01.json", [
        {"user": "U2", "text": "Reminder: the deploy freeze starts on Friday.", "ts": "1709287200.000100"}])
    write_json(root, "slack/vault-team/2024-03-01.json", [
        {"user": "U1", "text": "The glacier pineapple cipher lives in the red binder.", "ts": "1709287200.000200"}])
    write(root, "mail/budget.eml", "From: Carol Diaz <carol@acme.test>\nTo: Dave Doe <dave@acme.test>\n"
          "Subject: Budget\nMessage-ID: <b1@acme.test>\nDate: Fri, 1 Mar 2024 10:00:00 +0000\n\n"
          "The velvet otter budget closes on Friday.\n")


@dataclass
class Site:
    url: str
    keys: dict[str, str]
    logs: LogCapture
    settings: Settings
    secret_id: str  # the restricted page's document id (its corpus root's id and its path)

    @property
    def secrets(self) -> tuple[str, ...]:
        """What an outsider must never see: the restricted page's phrase, title, author, body and id."""
        return (PHRASE, TITLE, AUTHOR, BODY, self.secret_id)

    def h(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}


@pytest.fixture(scope="module", params=["chroma-embedded", pytest.param("postgres", marks=pytest.mark.integration)])
def site(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("acl")
    settings = Settings(embedder="hashing", data_dir=base / "data", auth="on", rate_limit_burst=10_000)
    if request.param == "postgres":  # the same site with chunks, BM25, ledger and query log in PostgreSQL
        pg = request.getfixturevalue("postgres_server")
        settings = pg.settings(base / "data", embedder="hashing", auth="on", rate_limit_burst=10_000)
    write_corpus(base / "corpus")
    assert ingest(base / "corpus", settings).failed == []
    secret_id = document_id(root_id(str((base / "corpus").resolve())), SECRET_SOURCE)
    users = settings.users_path
    # Both may read the gap report (settings.gaps_group); only the insider may read the security pages.
    managers = settings.gaps_group
    keys = {"outsider": add_user(users, name="Olive Outsider", groups=["engineering", managers],
                                 email="olive@acme.test"),
            "insider": add_user(users, name="Ivan Insider", groups=["security", "engineering", managers]),
            "ann": add_user(users, name="Ann Lee", groups=[]),  # slack:vault-team through the member list
            "dave": add_user(users, name="Dave Doe", groups=[], email="dave@acme.test")}
    app = create_app(settings, engine=QueryEngine(settings))

    def boom() -> None:  # an unexpected failure whose message quotes a document
        raise RuntimeError(f"failed while reading: The {PHRASE} protocol rotates the vault credentials")

    app.add_api_route("/boom", boom)
    with LogCapture() as logs, running(app) as url:
        yield Site(url, keys, logs, settings, secret_id)


def has_route(site: Site, path: str) -> bool:
    """Whether the app serves ``path`` (the gap report and feedback are a separate feature)."""
    spec = httpx.get(f"{site.url}/openapi.json", headers=site.h("insider"), timeout=10).json()
    return path in spec["paths"]


def leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    low = text.lower()
    return [s for s in secrets if s.lower() in low]


def test_without_a_key_only_health_and_page_shells_answer(site: Site) -> None:
    assert httpx.get(f"{site.url}/health", timeout=10).json()["status"] == "ok"
    page = httpx.get(f"{site.url}/", timeout=10)
    assert page.status_code == 200 and 'data-auth="on"' in page.text and 'id="api-key"' in page.text
    csp = page.headers["content-security-policy"]  # the page holds a key: our own scripts only, never framed
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    for method, path in [("POST", "/ask"), ("GET", "/search?q=deploy"), ("GET", "/experts?q=deploy"),
                         ("GET", f"/documents/{site.secret_id}"), ("GET", "/channels"), ("GET", "/openapi.json"),
                         ("GET", "/gaps"), ("POST", "/feedback")]:
        r = httpx.request(method, f"{site.url}{path}", json={"question": "deploy?"}, timeout=10)
        assert r.status_code == 401, (path, r.status_code)
        assert r.json()["field"] == "authorization" and "Bearer" in r.json()["error"]
        assert r.headers["www-authenticate"].startswith("Bearer")
    wrong = site.keys["outsider"][:-4] + "AAAA"
    for bad in (f"Bearer {wrong}", "Bearer not-a-key", f"Basic {site.keys['outsider']}", "Bearer"):
        r = httpx.get(f"{site.url}/search", params={"q": "deploy"}, headers={"Authorization": bad}, timeout=10)
        assert r.status_code == 401 and "error" in r.json()


def test_the_insider_sees_the_restricted_document(site: Site) -> None:
    h = site.h("insider")
    hits = httpx.get(f"{site.url}/search", params={"q": f"{PHRASE} protocol", "k": 3}, headers=h, timeout=30).json()
    assert hits[0]["doc_id"] == site.secret_id and PHRASE in hits[0]["text"]
    answer = httpx.post(f"{site.url}/ask", json={"question": f"How often does the {PHRASE} protocol rotate the "
                                                 "vault credentials?"}, headers=h, timeout=30).json()
    assert not answer["abstained"] and BODY in answer["answer"]
    assert answer["citations"][0]["title"] == TITLE and answer["citations"][0]["authors"] == [AUTHOR]
    assert AUTHOR in {e["name"] for e in answer["experts"]}
    experts = httpx.get(f"{site.url}/experts", params={"q": f"{PHRASE} rotation"}, headers=h, timeout=30).json()
    assert experts[0]["name"] == AUTHOR
    doc = httpx.get(f"{site.url}/documents/{site.secret_id}", headers=h, timeout=10)
    assert doc.status_code == 200 and doc.json()["authors"] == [AUTHOR] and BODY in doc.json()["text"]


def _feedback(site: Site, user: str, question_id: str, helpful: bool) -> None:
    r = httpx.post(f"{site.url}/feedback", json={"question_id": question_id, "helpful": helpful},
                   headers=site.h(user), timeout=10)
    assert r.status_code in (200, 201), r.text


def test_the_outsider_never_sees_phrase_title_or_author_anywhere(site: Site) -> None:
    url, h = site.url, site.h("outsider")
    gaps = has_route(site, "/gaps")
    feedback = has_route(site, "/feedback")
    # The insider's questions land in the query log: one marked unhelpful (a gap), one helpful (relied on).
    for helpful in (False, True):
        a = httpx.post(f"{url}/ask", json={"question": f"What does the {PHRASE} rotation do?"},
                       headers=site.h("insider"), timeout=30).json()
        assert a["citations"] and a["citations"][0]["doc_id"] == site.secret_id
        if feedback:
            _feedback(site, "insider", a["question_id"], helpful)
    if gaps:
        inside = httpx.get(f"{url}/gaps", headers=site.h("insider"), timeout=60)
        assert inside.status_code == 200 and PHRASE in inside.text.lower(), "the insider sees their own gap"
        outside = httpx.get(f"{url}/gaps", headers=h, timeout=60)
        assert outside.status_code == 200 and leaks(outside.text, site.secrets) == []

    seen: list[str] = []
    questions = [f"What is the {PHRASE} protocol?", TITLE, f"Who knows about the {PHRASE} rotation?",
                 f"What did {AUTHOR} write?", "How often are the vault credentials rotated?",
                 "Who should I ask about rotating vault credentials on the jump host?"]
    for q in questions:
        r = httpx.post(f"{url}/ask", json={"question": q}, headers=h, timeout=30)
        assert r.status_code == 200
        body = r.json()
        seen.append(json.dumps({k: v for k, v in body.items() if k != "question"}))  # the echo is their own words
        assert all(c["doc_id"] != site.secret_id for c in body["citations"])
        if feedback:
            _feedback(site, "outsider", body["question_id"], False)
        for path in ("/search", "/experts"):
            r = httpx.get(f"{url}{path}", params={"q": q, "k": 50}, headers=h, timeout=30)
            assert r.status_code == 200
            seen.append(r.text)
    # The public page that mentions vault credentials is still found: the filter is not a blanket refusal.
    assert any("Deploying services" in s for s in seen)
    seen.append(httpx.get(f"{url}/channels", headers=h, timeout=10).text)
    assert leaks("\n".join(seen), site.secrets) == []

    # No existence oracle: a restricted id answers exactly like an id that never existed.
    hidden = httpx.get(f"{url}/documents/{site.secret_id}", headers=h, timeout=10)
    missing = httpx.get(f"{url}/documents/0000000000000000", headers=h, timeout=10)
    assert hidden.status_code == missing.status_code == 404
    assert (hidden.json()["error"].replace(site.secret_id, "ID")
            == missing.json()["error"].replace("0000000000000000", "ID"))

    if gaps:
        # Now the outsider's own probing questions are in the log (their words, so the phrase may appear);
        # what the restricted document holds, its id and its author as a colleague to ask must not.
        report = httpx.get(f"{url}/gaps", headers=h, timeout=60)
        assert report.status_code == 200 and leaks(report.text, (BODY, site.secret_id)) == []
        colleagues = {c["name"] for t in report.json().get("unanswered_topics", []) for c in t.get("colleagues", [])}
        assert AUTHOR not in colleagues


def test_source_groups_decide_access(site: Site) -> None:
    def found(user: str, q: str) -> bool:
        hits = httpx.get(f"{site.url}/search", params={"q": q, "k": 10}, headers=site.h(user), timeout=30).json()
        return any(q.split()[-1] in h["text"] for h in hits)

    # Ann is a member of the private Slack channel: no group was given to her by hand.
    assert found("ann", "glacier pineapple cipher") and not found("outsider", "glacier pineapple cipher")
    assert "vault-team" in httpx.get(f"{site.url}/channels", headers=site.h("ann"), timeout=10).json()
    assert "vault-team" not in httpx.get(f"{site.url}/channels", headers=site.h("outsider"), timeout=10).json()
    # Dave received the e-mail; the outsider did not.
    assert found("dave", "velvet otter budget") and not found("outsider", "velvet otter budget")
    assert not found("ann", "velvet otter budget")


def test_limits_and_errors_are_json(site: Site) -> None:
    h = site.h("outsider")
    long = httpx.post(f"{site.url}/ask", json={"question": "x" * 2001}, headers=h, timeout=10)
    assert long.status_code == 422 and long.json()["field"] == "question"
    big = httpx.post(f"{site.url}/ask", json={"question": "deploy?", "pad": "x" * 70_000}, headers=h, timeout=10)
    assert big.status_code == 413 and big.json()["field"] == "body"

    def chunked() -> Iterator[bytes]:  # no content-length: the size is counted as it streams
        yield b'{"question": "deploy?", "pad": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    streamed = httpx.post(f"{site.url}/ask", content=chunked(), timeout=10,
                          headers={**h, "Content-Type": "application/json"})
    assert streamed.status_code == 413 and "error" in streamed.json()
    broken = httpx.post(f"{site.url}/ask", content=b"{nope", headers={**h, "Content-Type": "application/json"},
                        timeout=10)
    assert 400 <= broken.status_code < 500 and "error" in broken.json()
    nowhere = httpx.get(f"{site.url}/no/such/thing", headers=h, timeout=10)
    assert nowhere.status_code == 404 and "error" in nowhere.json()


def test_rate_limit_per_key_is_429_with_retry_after(tmp_path: Path) -> None:
    settings = Settings(embedder="hashing", data_dir=tmp_path / "data", auth="on", rate_limit_burst=3,
                        rate_limit_per_minute=2)
    write(tmp_path / "corpus", "wiki/a.md", "# A\n\nDeploys go out on Tuesdays.\n")
    ingest(tmp_path / "corpus", settings)
    first = add_user(settings.users_path, name="First", groups=[])
    second = add_user(settings.users_path, name="Second", groups=[])
    with running(create_app(settings, engine=QueryEngine(settings))) as url:
        codes = [httpx.get(f"{url}/search", params={"q": "deploy"}, headers={"Authorization": f"Bearer {first}"},
                           timeout=10) for _ in range(4)]
        assert [r.status_code for r in codes] == [200, 200, 200, 429]
        assert int(codes[-1].headers["retry-after"]) >= 1 and "rate limit" in codes[-1].json()["error"]
        other = httpx.get(f"{url}/search", params={"q": "deploy"}, headers={"Authorization": f"Bearer {second}"},
                          timeout=10)
        assert other.status_code == 200, "each key has its own bucket"
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200


def test_logs_hold_no_keys_and_no_document_text(site: Site) -> None:
    h = site.h("insider")
    httpx.post(f"{site.url}/ask", json={"question": f"What is the {PHRASE} protocol?"}, headers=h, timeout=30)
    httpx.get(f"{site.url}/documents/{site.secret_id}", headers=h, timeout=10)
    httpx.get(f"{site.url}/search", params={"q": "glacier pineapple"}, headers=site.h("ann"), timeout=10)
    httpx.get(f"{site.url}/search", params={"q": "deploy"}, headers={"Authorization": "Bearer wk_0123456789ab_"
                                                                     "guessedguessedguessed"}, timeout=10)
    crash = httpx.get(f"{site.url}/boom", headers=h, timeout=10)
    assert crash.status_code == 500 and PHRASE not in crash.text and "error" in crash.json()
    # A request's log lines are written by its own task after the response went out, with no await in
    # between; one more request answered by the same event loop therefore comes after all of them.
    assert httpx.get(f"{site.url}/health", timeout=10).status_code == 200
    text = site.logs.text
    assert "unexpected RuntimeError on GET /boom" in text, "a crash is logged, by its type only"
    assert "POST /ask 200" in text and "user=Ivan Insider" in text, "the capture sees the server's request log"
    for key in site.keys.values():
        secret = key.split("_", 2)[2]  # wk_<id>_<secret>; the secret itself may contain "_"
        assert key not in text and secret not in text
    assert "guessedguessedguessed" not in text
    for secret in (PHRASE, BODY, "glacier pineapple", "fifteen minutes", "Deploys go out", "velvet otter"):
        assert secret.lower() not in text.lower(), secret


def test_people_and_drafts_show_only_what_the_caller_may_read(site: Site) -> None:
    url = site.url
    for method, path in [("GET", "/people"), ("GET", "/people/Ann%20Lee"), ("POST", "/codify")]:
        assert httpx.request(method, f"{url}{path}", json={"target": "budget"}, timeout=10).status_code == 401
    shell = httpx.get(f"{url}/profile", params={"name": AUTHOR}, timeout=10)  # a page shell: no knowledge in it
    assert shell.status_code == 200 and 'id="profile"' in shell.text and leaks(shell.text, site.secrets) == []
    # The author known only from the restricted page is nobody to the outsider, in the list and by name.
    outside = httpx.get(f"{url}/people", headers=site.h("outsider"), timeout=60)
    assert outside.status_code == 200 and {"Ann Lee", "Pat Public"} <= {p["name"] for p in outside.json()}
    assert leaks(outside.text, site.secrets) == []
    inside = httpx.get(f"{url}/people", headers=site.h("insider"), timeout=60).json()
    assert AUTHOR in {p["name"] for p in inside}, "the insider does see them: the filter is not a blanket refusal"
    hidden = httpx.get(f"{url}/people/{AUTHOR}", headers=site.h("outsider"), timeout=30)
    nobody = httpx.get(f"{url}/people/Nobody Atall", headers=site.h("outsider"), timeout=30)
    assert hidden.status_code == nobody.status_code == 404
    assert hidden.json()["error"].replace(AUTHOR, "X") == nobody.json()["error"].replace("Nobody Atall", "X")
    theirs = httpx.get(f"{url}/people/{AUTHOR}", headers=site.h("insider"), timeout=30).json()
    assert theirs["evidence"][0]["doc_id"] == site.secret_id and theirs["strongest"]
    # Ann's own private channel shows on her profile for her, never for the outsider.
    private = ("glacier pineapple", "vault-team")
    assert leaks(httpx.get(f"{url}/people/Ann Lee", headers=site.h("ann"), timeout=30).text, private)
    ann = httpx.get(f"{url}/people/ann", headers=site.h("outsider"), timeout=30)
    assert ann.status_code == 200 and ann.json()["name"] == "Ann Lee" and leaks(ann.text, private) == []
    for who in ("outsider", "insider"):
        for p in httpx.get(f"{url}/people/Pat Public", headers=site.h(who), timeout=30).json()["evidence"]:
            assert p["doc_id"] != site.secret_id

    # A draft quotes only threads the caller may read: the sender of the private mail gets it, nobody else.
    users = site.settings.users_path
    carol = add_user(users, name="Carol Diaz", groups=[site.settings.gaps_group], email="carol@acme.test")
    mine = httpx.post(f"{url}/codify", json={"target": "velvet otter budget"},
                      headers={"Authorization": f"Bearer {carol}"}, timeout=60)
    assert mine.status_code == 200 and "velvet otter" in mine.json()["markdown"]
    assert mine.json()["authors"] == ["Carol Diaz"] and "status: draft" in mine.json()["markdown"]
    for target in ("velvet otter budget", f"{PHRASE} rotation", site.secret_id, mine.json()["sources"][0]["doc_id"]):
        r = httpx.post(f"{url}/codify", json={"target": target}, headers=site.h("outsider"), timeout=60)
        assert r.status_code in (200, 404)
        body = {k: v for k, v in r.json().items() if k not in ("topic", "asked")}  # their own words echoed
        assert leaks(json.dumps(body), (PHRASE, BODY, AUTHOR, site.secret_id, "velvet otter", "Carol")) == [], target
    assert httpx.post(f"{url}/codify", json={"target": "budget"}, headers=site.h("ann"), timeout=30).status_code == 403

"""Feedback and the query log over real HTTP: owner-only file, no server paths, one's own questions only."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.auth import add_user
from ingest.pipeline import ingest
from rag.config import Settings
from rag.engine import QueryEngine
from rag.querylog import QueryLog
from tests.api.serving import running
from tests.ingest.helpers import write

pytestmark = [pytest.mark.integration]


@pytest.fixture
def served(tmp_path: Path) -> Settings:
    write(tmp_path / "corpus", "wiki/oncall.md", "# On-call\n\nThe primary acknowledges a page within fifteen "
                                                 "minutes, then posts in the incident channel.\n")
    settings = Settings(embedder="hashing", data_dir=tmp_path / "data", rate_limit_burst=10_000)
    assert ingest(tmp_path / "corpus", settings).failed == []
    return settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_query_log_is_created_readable_by_its_owner_only(served: Settings) -> None:
    with running(create_app(served, engine=QueryEngine(served))) as url:
        r = httpx.post(f"{url}/ask", json={"question": "How fast is a page acknowledged?"}, timeout=30)
        assert r.status_code == 200 and r.json()["question_id"]
    log = served.query_log_file
    assert log.exists() and _mode(log) == 0o600
    for side in (log.with_name(log.name + "-wal"), log.with_name(log.name + "-shm")):
        assert not side.exists() or _mode(side) & 0o077 == 0, oct(_mode(side))


def test_an_existing_world_readable_log_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "queries.sqlite"
    path.touch(mode=0o644)
    path.chmod(0o644)
    assert _mode(path) == 0o644
    assert QueryLog(path).questions() == []
    assert _mode(path) == 0o600


def test_an_unknown_question_names_no_server_path(served: Settings) -> None:
    with running(create_app(served, engine=QueryEngine(served))) as url:
        httpx.post(f"{url}/ask", json={"question": "How fast is a page acknowledged?"}, timeout=30)
        r = httpx.post(f"{url}/feedback", json={"question_id": "f" * 32, "helpful": True}, timeout=10)
    assert r.status_code == 404 and "f" * 32 in r.json()["error"]
    assert str(served.data_dir) not in r.text and "queries.sqlite" not in r.text


def test_with_auth_only_the_asker_or_a_knowledge_manager_gives_feedback(served: Settings) -> None:
    settings = served.model_copy(update={"auth": "on"})
    ben = add_user(settings.users_path, name="Ben Carter", groups=["support"])
    olive = add_user(settings.users_path, name="Olive Outsider", groups=["support"])
    grace = add_user(settings.users_path, name="Grace Kim", groups=[settings.gaps_group])

    def h(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    with running(create_app(settings, engine=QueryEngine(settings))) as url:
        qid = httpx.post(f"{url}/ask", json={"question": "How fast is a page acknowledged?"}, headers=h(ben),
                         timeout=30).json()["question_id"]

        def rate(key: str, question_id: str, helpful: bool) -> httpx.Response:
            return httpx.post(f"{url}/feedback", json={"question_id": question_id, "helpful": helpful},
                              headers=h(key), timeout=10)

        other = rate(olive, qid, False)
        unknown = rate(olive, "0" * 32, False)
        # Someone else's question answers exactly like one that does not exist.
        assert other.status_code == unknown.status_code == 404
        assert other.json()["error"].replace(qid, "ID") == unknown.json()["error"].replace("0" * 32, "ID")
        assert rate(ben, qid, True).status_code == 201
        assert rate(grace, qid, False).status_code == 201
    feedback = QueryLog(settings.query_log_file).feedback()
    assert feedback[qid].helpful is False  # Grace's, the latest; Olive's thumbs-down never landed

"""POST /feedback and GET /gaps over a real uvicorn on loopback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.auth import add_user
from rag.config import Settings
from rag.engine import QueryEngine
from tests.api.serving import running

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_feedback_then_gaps_over_http(gap_settings: Settings, gap_engine: QueryEngine) -> None:
    with running(create_app(gap_settings, engine=gap_engine)) as url:
        asked = httpx.post(f"{url}/ask", json={"question": "How do I rotate the Twilio token?"}, timeout=60)
        assert asked.status_code == 200
        qid = asked.json()["question_id"]
        assert qid and not asked.json()["abstained"]
        assert httpx.get(f"{url}/gaps", timeout=60).json()["unanswered_topics"] == []

        r = httpx.post(f"{url}/feedback", json={"question_id": qid, "helpful": False,
                                                "comment": "about PagerDuty, not Twilio"}, timeout=10)
        assert r.status_code == 201
        assert r.json()["question_id"] == qid and r.json()["helpful"] is False
        assert r.json()["comment"] == "about PagerDuty, not Twilio" and r.json()["recorded_at"]

        gaps = httpx.get(f"{url}/gaps", params={"since": 7}, timeout=60)
        assert gaps.status_code == 200
        body = gaps.json()
        assert body["questions"] == 1 and body["unanswered"] == 1 and body["log_enabled"] is True
        [topic] = body["unanswered_topics"]
        assert topic["thumbs_down"] == 1 and topic["questions"][0]["question_id"] == qid
        assert set(body) >= {"only_in_chat", "single_points", "stale", "trend"}


@pytest.mark.parametrize(("body", "field"), [
    ({"question_id": "abc", "helpful": "maybe"}, "helpful"),
    ({"question_id": "abc", "helpful": 1}, "helpful"),
    ({"helpful": True}, "question_id"),
    ({"question_id": "", "helpful": True}, "question_id"),
    ({"question_id": "abc"}, "helpful"),
    ({"question_id": "abc", "helpful": True, "comment": "x" * 3000}, "comment"),
    ({"question_id": "abc", "helpful": True, "stars": 5}, "stars"),
])
def test_bad_feedback_is_422_naming_the_field(gap_settings: Settings, gap_engine: QueryEngine, body: dict,
                                              field: str) -> None:
    with running(create_app(gap_settings, engine=gap_engine)) as url:
        r = httpx.post(f"{url}/feedback", json=body, timeout=10)
    assert r.status_code == 422 and r.json()["field"] == field, r.json()


def test_unknown_question_is_404_and_bad_since_is_422(gap_settings: Settings, gap_engine: QueryEngine) -> None:
    with running(create_app(gap_settings, engine=gap_engine)) as url:
        r = httpx.post(f"{url}/feedback", json={"question_id": "0" * 32, "helpful": True}, timeout=10)
        assert r.status_code == 404 and "0" * 32 in r.json()["error"]
        for since in ("0", "soon"):
            r = httpx.get(f"{url}/gaps", params={"since": since}, timeout=10)
            assert r.status_code == 422 and r.json()["field"] == "since"


def test_with_auth_the_asker_is_the_api_user_and_only_knowledge_managers_read_gaps(
        gap_settings: Settings, gap_engine: QueryEngine, tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    ben = add_user(users, name="Ben Carter", groups=["support"])
    grace = add_user(users, name="Grace Kim", groups=["knowledge-managers"])
    settings = gap_settings.model_copy(update={"users_file": users, "auth": "on"})
    with running(create_app(settings, engine=gap_engine)) as url:
        r = httpx.post(f"{url}/ask", json={"question": "How many weeks of paid parental leave do we get?"},
                       headers={"Authorization": f"Bearer {ben}"}, timeout=60)
        assert r.status_code == 200 and r.json()["abstained"]
        assert httpx.get(f"{url}/gaps", headers={"Authorization": f"Bearer {ben}"}, timeout=10).status_code == 403
        assert httpx.get(f"{url}/gaps", timeout=10).status_code == 401
        gaps = httpx.get(f"{url}/gaps", headers={"Authorization": f"Bearer {grace}"}, timeout=60)
    assert gaps.status_code == 200
    [topic] = gaps.json()["unanswered_topics"]
    assert topic["askers"] == ["Ben Carter"] and topic["abstained"] == 1

"""The HTTP API over a real uvicorn on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.app import create_app
from rag.config import Settings
from tests.api.serving import running
from tests.rag.conftest import engine, gold, sample_settings  # noqa: F401 - session fixtures

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="session")
def base_url(sample_settings: Settings, engine) -> Iterator[str]:  # noqa: F811
    with running(create_app(sample_settings, engine=engine)) as url:
        yield url


def test_ask_over_http(base_url: str, gold: list[dict]) -> None:  # noqa: F811
    q = next(q for q in gold if q["kind"] == "factual")
    r = httpx.post(f"{base_url}/ask", json={"question": q["question"]}, timeout=60)
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"question", "answer", "abstained", "confidence", "citations", "experts", "latency_ms"}
    assert body["citations"], body
    c = body["citations"][0]
    assert set(c) == {"n", "doc_id", "title", "kind", "source", "url", "quote", "section", "authors", "date"}
    assert c["authors"], "a citation names who wrote the passage"
    doc = httpx.get(f"{base_url}/documents/{c['doc_id']}", timeout=30)
    assert doc.status_code == 200 and doc.json()["title"] == c["title"]


def test_search_experts_health_docs(base_url: str) -> None:
    hits = httpx.get(f"{base_url}/search", params={"q": "deploy freeze", "k": 3}, timeout=30).json()
    assert 1 <= len(hits) <= 3 and all("doc_id" in h for h in hits)
    experts = httpx.get(f"{base_url}/experts", params={"q": "month-end invoicing"}, timeout=30).json()
    assert experts and experts[0]["score"] >= experts[-1]["score"]
    assert httpx.get(f"{base_url}/health", timeout=10).json()["status"] == "ok"
    assert httpx.get(f"{base_url}/docs", timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [({"question": ""}, "question"), ({"question": "x" * 10_000}, "question"), ({"question": 42}, "question"),
     ({"question": "ok?", "k": "many"}, "k"), ({}, "question"), ({"question": "ok?", "filters": {"kind": "memo"}},
                                                              "filters.kind")],
)
def test_bad_requests_get_json_errors_naming_the_field(base_url: str, body: dict, field: str) -> None:
    r = httpx.post(f"{base_url}/ask", json=body, timeout=30)
    assert 400 <= r.status_code < 500
    assert r.json()["field"].startswith(field), r.json()


def test_bad_search_filter_is_422_naming_the_field(base_url: str) -> None:
    r = httpx.get(f"{base_url}/search", params={"q": "deploy", "kind": "memo"}, timeout=10)
    assert r.status_code == 422 and r.json()["field"] == "kind"
    r = httpx.get(f"{base_url}/search", params={"q": ""}, timeout=10)
    assert r.status_code == 422 and r.json()["field"] == "q"


def test_unknown_document_is_404_json(base_url: str) -> None:
    r = httpx.get(f"{base_url}/documents/nope", timeout=10)
    assert r.status_code == 404 and "error" in r.json()


def test_malformed_json_is_4xx_not_500(base_url: str) -> None:
    r = httpx.post(f"{base_url}/ask", content=b"{not json", headers={"content-type": "application/json"},
                   timeout=10)
    assert 400 <= r.status_code < 500 and "error" in r.json()

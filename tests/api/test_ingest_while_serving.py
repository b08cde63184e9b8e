"""Queries keep answering while an ingest runs against the same store in another process (no errors, no
lock-out - the failure PrivateGPT #2190 reports), and the new content is served without a restart."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from rag.config import Settings
from tests.api.serving import running
from tests.ingest.helpers import REPO, WHOKNOWS, cli_env, run_cli, write

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTIONS = ["Which queue does the runbook drain first?", "How do I patch a node?", "Who owns the pager?"]


def pages(root: Path, start: int, n: int, topic: str) -> None:
    for i in range(start, start + n):
        body = "".join(f"## Step {j}\n\nFor {topic} {i}, drain queue {j} and wait for the workers to finish "
                       f"before patching node {i}-{j}. The pager owner signs off.\n\n" for j in range(10))
        write(root, f"wiki/page-{i:03d}.md", f"# Page {i}\n\n{body}")


@pytest.mark.parametrize("store", ["chroma-embedded", pytest.param("chroma-http"), pytest.param("postgres")])
def test_queries_answer_throughout_a_concurrent_ingest(tmp_path: Path, request: pytest.FixtureRequest,
                                                       store: str) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    pages(corpus, 0, 20, "the billing cluster")
    env = cli_env()
    settings = Settings(embedder="hashing", data_dir=data)
    if store == "chroma-http":
        server = request.getfixturevalue("chroma_server")
        settings = server.settings(data, embedder="hashing")
        env = cli_env(WHOKNOWS_STORE="chroma-http", WHOKNOWS_CHROMA_HOST=settings.chroma_host,
                      WHOKNOWS_CHROMA_PORT=str(settings.chroma_port), WHOKNOWS_COLLECTION=settings.collection)
    if store == "postgres":
        pg = request.getfixturevalue("postgres_server")
        settings = pg.settings(data, embedder="hashing")
        env = cli_env(**pg.env(settings))
    assert run_cli("ingest", str(corpus), "--data-dir", str(data), env=env).returncode == 0
    # The second ingest replaces all 200 chunks (their old versions are deleted) and adds 1500.
    pages(corpus, 0, 20, "the revised billing cluster")
    pages(corpus, 20, 150, "the zanzibar migration")

    statuses: Counter[int] = Counter()
    during = 0
    with running(create_app(settings)) as base, httpx.Client(base_url=base, timeout=60) as client:
        proc = subprocess.Popen([str(WHOKNOWS), "ingest", str(corpus), "--data-dir", str(data)], env=env,
                                cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for i in range(5000):  # bounded; ends as soon as the ingest does
            if proc.poll() is not None:
                break
            r = (client.post("/ask", json={"question": QUESTIONS[i % 3]}) if i % 2 else
                 client.get("/search", params={"q": f"drain queue {i % 10} before patching", "k": 5}))
            statuses[r.status_code] += 1
            during += 1
        _, stderr = proc.communicate(timeout=300)
        after = client.get("/search", params={"q": "zanzibar migration 150 patching node", "k": 5})
        billing = client.get("/search", params={"q": "billing cluster 7 drain queue", "k": 10})
        health = client.get("/health").json()

    assert proc.returncode == 0, stderr.decode()
    assert during >= 3, "the ingest ended before the queries could overlap it"
    assert statuses == Counter({200: during}), statuses
    assert after.status_code == 200 and "zanzibar" in after.json()[0]["text"]
    assert billing.json() and all("revised" in h["text"] for h in billing.json() if "billing" in h["text"])
    assert health["chunks"] == 170 * 10

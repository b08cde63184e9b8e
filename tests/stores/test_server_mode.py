"""Server mode end to end: ingest and ask through a real ``chroma run``, the manifest kept locally."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.chroma_server import ChromaServer
from ingest.pipeline import ingest
from rag.engine import QueryEngine
from tests.ingest.helpers import cli_env, manifest_docs, run_cli, write, write_json

pytestmark = pytest.mark.integration


def small_org(root: Path) -> None:
    write(root, "wiki/oncall.md", "---\ntitle: On-call handbook\nauthors: [Ann Lee]\n---\n# Escalation\n\n"
          "If the primary does not acknowledge a page within fifteen minutes, escalate to the secondary.\n")
    write(root, "wiki/expenses.md", "---\ntitle: Expenses\nauthors: [Carla Diaz]\n---\n# Receipts\n\n"
          "Submit receipts within thirty days of purchase through the finance portal.\n")
    write_json(root, "threads/vpn.json", {"title": "VPN drops", "messages": [
        {"author": "Bob Stone", "text": "The VPN drops every hour since the certificate rotation."},
        {"author": "Dan Wu", "text": "Reinstall the VPN client profile; the old certificate is cached."}]})


@pytest.mark.slow
def test_ingest_and_ask_through_a_chroma_server(chroma_server: ChromaServer, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    small_org(corpus)
    settings = chroma_server.settings(tmp_path / "data", embedder="minilm")

    first = ingest(corpus, settings)
    second = ingest(corpus, settings)
    answer = QueryEngine(settings).ask("How long do I have to submit expense receipts?")

    assert first.failed == [] and first.documents == 3 and first.embedded == first.chunks > 0
    assert second.embedded == 0 and second.unchanged == 3
    assert not answer.abstained and answer.citations[0].source == "wiki/expenses.md"
    assert "thirty days" in answer.citations[0].quote
    # Vectors live on the server; only the ingest ledger is local.
    assert settings.manifest_path.is_file() and not settings.chroma_path.exists()
    assert {d.source for d in manifest_docs(settings)} == {"wiki/oncall.md", "wiki/expenses.md",
                                                           "threads/vpn.json"}


def test_cli_in_server_mode_answers_and_reports_a_missing_server(chroma_server: ChromaServer,
                                                                  tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    small_org(corpus)
    settings = chroma_server.settings(tmp_path / "data")
    # The hashing embedder keeps the subprocesses fast; it is too weak for the calibrated abstention.
    env = cli_env(WHOKNOWS_STORE="chroma-http", WHOKNOWS_ABSTAIN_THRESHOLD="0",
                  WHOKNOWS_CHROMA_HOST=settings.chroma_host, WHOKNOWS_CHROMA_PORT=str(settings.chroma_port),
                  WHOKNOWS_COLLECTION=settings.collection)

    ingested = run_cli("ingest", str(corpus), "--json", "--data-dir", str(settings.data_dir), env=env)
    asked = run_cli("ask", "Why does the VPN keep dropping?", "--json", "--data-dir", str(settings.data_dir),
                    env=env)
    down = run_cli("ask", "Why does the VPN keep dropping?", "--data-dir", str(settings.data_dir),
                   env={**env, "WHOKNOWS_CHROMA_PORT": "1"})

    assert ingested.returncode == 0, ingested.stderr
    assert json.loads(ingested.stdout)["documents"] == 3
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["citations"][0]["source"] == "threads/vpn.json"
    assert down.returncode == 1
    assert "Traceback" not in down.stderr
    lines = down.stderr.strip().splitlines()
    assert len(lines) == 1 and "Chroma server at 127.0.0.1:1" in lines[0] and "chroma run" in lines[0], lines

"""Ingestion never reaches for the network, with the real MiniLM model and unstructured in play."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.embeddings import make_embedder
from rag.stores import open_store
from tests.conftest import write_minilm_corpus
from tests.ingest.helpers import REPO, by_source, stored_chunks
from tests.netguard import GUARD_SOURCE, OFFLINE_SWITCHES, SocketGuard

pytestmark = pytest.mark.slow


def test_socket_guard_catches_a_real_attempt():
    """The guard itself works: a lookup and a connect to a public host are refused and recorded."""
    import socket
    import urllib.request

    original = socket.create_connection
    with SocketGuard() as guard:
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a loopback proxy would hide it
        with pytest.raises(OSError):
            direct.open("https://huggingface.co/", timeout=2)
        with pytest.raises(OSError):
            socket.create_connection(("93.184.216.34", 443), timeout=2)
        with socket.socket() as s:
            with pytest.raises(OSError):
                s.connect(("10.1.2.3", 80))
    assert len(guard.attempts) == 3
    assert socket.create_connection is original  # and it is gone afterwards


def test_minilm_ingest_attempts_no_connection(minilm_store):
    assert minilm_store.attempts == []
    first = minilm_store.first
    assert first.failed == []
    assert first.by_kind == {"wiki": 3, "thread": 1}
    assert first.embedded == first.chunks > 4  # the long passages were split, so the splitter ran too
    chunks = by_source(stored_chunks(minilm_store.settings))
    assert set(chunks) == {"wiki/expenses.html", "wiki/oncall.txt", "wiki/patching.md", "threads/vpn.json"}


def test_minilm_store_answers_by_meaning(minilm_store):
    """End to end with the real model: a paraphrased question finds the passage that answers it."""
    settings = minilm_store.settings
    embedder = make_embedder(settings)
    assert embedder.name == "all-MiniLM-L6-v2"
    store = open_store(settings, embedder, create=False)

    hits = store.search(embedder.embed_query("how long do I have to hand in my receipts?"), k=3)
    assert hits[0][0].source == "wiki/expenses.html" and "thirty days" in hits[0][0].text
    assert hits[0][0].authors == ("Carla Diaz",)

    hits = store.search(embedder.embed_query("what if nobody answers the pager"), k=3)
    assert hits[0][0].source == "wiki/oncall.txt"


def test_minilm_second_run_embeds_nothing(minilm_store):
    second = minilm_store.second
    assert second.embedded == 0
    assert second.unchanged == second.documents == minilm_store.first.documents


@pytest.mark.integration
def test_cli_ingest_in_a_fresh_process_attempts_no_connection(tmp_path: Path):
    """A new interpreter, the guard installed before anything else, offline switches unset."""
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    write_minilm_corpus(corpus)
    script = tmp_path / "guarded_whoknows.py"
    script.write_text(GUARD_SOURCE.format(tests_parent=str(REPO)))
    log = tmp_path / "attempts.log"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("WHOKNOWS_") and k.upper() not in OFFLINE_SWITCHES}
    env["NETGUARD_LOG"] = str(log)

    proc = subprocess.run([sys.executable, str(script), "ingest", str(corpus), "--json", "--data-dir", str(data)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=str(tmp_path))

    attempts = log.read_text() if log.exists() else ""
    assert attempts == "", f"outbound connections attempted:\n{attempts}"
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["failed"] == [] and report["documents"] == 4 and report["embedded"] > 0

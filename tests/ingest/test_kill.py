"""kill -9 in the middle of an ingest, run again: every chunk is stored exactly once."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from rag.config import Settings
from tests.ingest.helpers import REPO, WHOKNOWS, cli_env, manifest_docs, run_cli, stored_chunks, write

pytestmark = pytest.mark.integration

WORDS = ("deploy canary rollback database snapshot worker queue latency budget incident owner pager vault "
         "secret rotate cluster node region failover backup terraform ingress").split()


def big_corpus(root: Path, pages: int = 150) -> None:
    rnd = random.Random(7)
    for i in range(pages):
        sections = "".join(
            f"## Part {j}\n\n" + " ".join(rnd.choice(WORDS) for _ in range(110)) + f" (page {i} part {j}).\n\n"
            for j in range(12)
        )
        write(root, f"wiki/page-{i:03d}.md", f"---\ntitle: Page {i}\nauthors: [Author {i % 9}]\n---\n{sections}")


def ledger_rows(path: Path, state: str) -> int:
    """Documents in ``state`` the running ingest has recorded so far (0 before the ledger exists)."""
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return int(db.execute("SELECT count(*) FROM docs WHERE state=?", (state,)).fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


# Killed as soon as the first batch is recorded as pending (its chunks on their way into Chroma),
# or once a batch is done (later batches half written).
@pytest.mark.parametrize("kill_when", ["pending", "done"])
def test_kill_mid_ingest_then_rerun_leaves_each_chunk_once(tmp_path, kill_when):
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    big_corpus(corpus)
    manifest = data / "manifest.sqlite"

    proc = subprocess.Popen([str(WHOKNOWS), "ingest", str(corpus), "--json", "--data-dir", str(data)],
                            env=cli_env(), cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and ledger_rows(manifest, kill_when) == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    settings = Settings(embedder="hashing", data_dir=data)
    interrupted = manifest_docs(settings)
    assert 0 < len(interrupted) < 150 or any(d.state == "pending" for d in interrupted), \
        "the kill should land part-way through"

    second = run_cli("ingest", str(corpus), "--json", "--data-dir", str(data))
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["documents"] == 150 and report["failed"] == []

    chunks = stored_chunks(settings)
    pairs = Counter((c.doc_id, c.index) for c in chunks)
    assert max(pairs.values()) == 1, "a chunk is stored twice"
    docs = manifest_docs(settings)
    assert len(docs) == 150 and {d.state for d in docs} == {"done"}
    assert len(chunks) == sum(len(d.chunk_ids) for d in docs) == report["chunks"]
    assert {c.chunk_id for c in chunks} == {cid for d in docs for cid in d.chunk_ids}
    assert len({c.source for c in chunks}) == 150

    third = run_cli("ingest", str(corpus), "--json", "--data-dir", str(data))
    assert third.returncode == 0, third.stderr
    report = json.loads(third.stdout)
    assert report["embedded"] == 0 and report["unchanged"] == 150
    assert report["chunks"] == len(chunks)


def ledger_total(path: Path) -> int:
    """Documents the ledger holds right now."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return int(db.execute("SELECT count(*) FROM docs").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return -1


# Killed in a re-ingest: while changed pages are being replaced (old and new chunks side by side), or
# while removed pages are being deleted from the store.
@pytest.mark.parametrize("phase", ["replace", "delete"])
def test_kill_mid_reingest_then_rerun_converges(tmp_path, phase):
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    big_corpus(corpus)
    manifest = data / "manifest.sqlite"
    assert run_cli("ingest", str(corpus), "--json", "--data-dir", str(data)).returncode == 0
    if phase == "replace":
        for page in corpus.glob("wiki/*.md"):
            page.write_text(page.read_text().replace(").\n", ", revised).\n"))
        keep = 150
    else:
        for page in sorted(corpus.glob("wiki/*.md"))[30:]:
            page.unlink()
        keep = 30

    proc = subprocess.Popen([str(WHOKNOWS), "ingest", str(corpus), "--json", "--data-dir", str(data)],
                            env=cli_env(), cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if (phase == "replace" and ledger_rows(manifest, "pending")) or (phase == "delete" and
                                                                        0 <= ledger_total(manifest) < 150):
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    assert proc.returncode == -signal.SIGKILL, "the re-ingest finished before it could be killed"
    settings = Settings(embedder="hashing", data_dir=data)
    if phase == "delete":
        assert keep < len(manifest_docs(settings)) < 150, "the kill should land part-way through the deletes"

    again = run_cli("ingest", str(corpus), "--json", "--data-dir", str(data))
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["documents"] == keep and report["failed"] == []

    chunks = stored_chunks(settings)
    assert max(Counter((c.doc_id, c.index) for c in chunks).values()) == 1, "a chunk is stored twice"
    docs = manifest_docs(settings)
    assert len(docs) == keep and {d.state for d in docs} == {"done"}
    assert {c.chunk_id for c in chunks} == {cid for d in docs for cid in d.chunk_ids}
    assert len({c.source for c in chunks}) == keep
    if phase == "replace":
        assert all("revised" in c.text for c in chunks), "a chunk of the old version survived"

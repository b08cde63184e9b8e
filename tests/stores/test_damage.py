"""A missing or damaged store: one clear line and exit 1 from the CLI, 503 JSON from the API - and the fix
they name (re-ingest) works, even when only the vector store was lost and the ledger survived."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from ingest.pipeline import ingest
from rag.config import Settings
from tests.api.serving import running
from tests.ingest.helpers import manifest_docs, run_cli, stored_chunks, write

pytestmark = pytest.mark.integration


def pages(root: Path, n: int, sections: int = 1) -> None:
    for i in range(n):
        body = "".join(f"## Part {j}\n\nThe runbook step {i}.{j} drains queue {i} before patching.\n\n"
                       for j in range(sections))
        write(root, f"wiki/page-{i:03d}.md", f"# Page {i}\n\n{body}")


def one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return str(lines[0])


def test_ask_on_a_missing_data_dir_says_to_ingest(tmp_path: Path) -> None:
    line = one_line_error(run_cli("ask", "who owns billing?", "--data-dir", str(tmp_path / "nowhere")))
    assert "No store at" in line and "whoknows ingest" in line


@pytest.mark.parametrize("damage", ["junk-database", "truncated-database", "database-removed", "dir-is-a-file"])
def test_ask_on_a_damaged_store_names_the_fix(tmp_path: Path, damage: str) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    pages(corpus, 3)
    assert run_cli("ingest", str(corpus), "--data-dir", str(data)).returncode == 0
    db = data / "chroma" / "chroma.sqlite3"
    if damage == "junk-database":
        db.write_bytes(os.urandom(8192))
    elif damage == "truncated-database":
        db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])
    elif damage == "database-removed":
        db.unlink()
    else:
        shutil.rmtree(data / "chroma")
        (data / "chroma").write_text("not a directory")

    line = one_line_error(run_cli("ask", "which queue is drained?", "--data-dir", str(data)))

    assert str(data / "chroma") in line and "whoknows ingest" in line, line


@pytest.mark.slow
def test_a_corrupt_vector_index_is_a_store_error_not_a_crash(tmp_path: Path) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    pages(corpus, 60, sections=25)  # enough chunks that Chroma writes its HNSW index files to disk
    assert run_cli("ingest", str(corpus), "--data-dir", str(data)).returncode == 0
    index_files = list((data / "chroma").glob("*/*.bin"))
    assert index_files, "expected Chroma's HNSW files on disk"
    for f in index_files:
        f.write_bytes(os.urandom(256))

    line = one_line_error(run_cli("ask", "which queue is drained?", "--data-dir", str(data)))

    assert "may be corrupt" in line and f"move {data} aside" in line


def test_reingest_rebuilds_a_lost_vector_store_from_a_surviving_ledger(tmp_path: Path) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    pages(corpus, 5, sections=3)
    first = run_cli("ingest", str(corpus), "--json", "--data-dir", str(data))
    shutil.move(data / "chroma", tmp_path / "chroma-moved-aside")

    again = run_cli("ingest", str(corpus), "--json", "--data-dir", str(data))

    assert first.returncode == again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["replaced"] == 5 and report["unchanged"] == 0 and report["failed"] == []
    settings = Settings(embedder="hashing", data_dir=data)
    chunks = stored_chunks(settings)
    assert len(chunks) == json.loads(first.stdout)["chunks"] == report["chunks"]
    assert {c.chunk_id for c in chunks} == {cid for d in manifest_docs(settings) for cid in d.chunk_ids}


def test_reingest_rewrites_only_the_documents_whose_chunks_went_missing(corpus: Path, settings: Settings) -> None:
    from rag.embeddings import make_embedder
    from rag.stores import open_store

    pages(corpus, 5, sections=3)
    ingest(corpus, settings)
    store = open_store(settings, make_embedder(settings))
    victim = next(iter(manifest_docs(settings)))
    store.delete_document(victim.doc_id)

    again = ingest(corpus, settings)

    assert again.replaced == 1 and again.unchanged == 4
    assert sorted(c.chunk_id for c in store.get(doc_id=victim.doc_id)) == sorted(victim.chunk_ids)


@pytest.mark.slow
def test_api_answers_503_with_the_fix_until_the_store_exists_then_recovers(corpus: Path, settings: Settings) -> None:
    pages(corpus, 3)
    with running(create_app(settings)) as base:
        health = httpx.get(f"{base}/health", timeout=30)
        asked = httpx.post(f"{base}/ask", json={"question": "which queue is drained?"}, timeout=30)
        ingest(corpus, settings)
        healed = httpx.get(f"{base}/search", params={"q": "queue 1 drained before patching"}, timeout=30)

    for r in (health, asked):
        assert r.status_code == 503, r.text
        body = r.json()
        assert "No store at" in body["error"] and "whoknows ingest" in body["error"] and body["field"] is None
    assert healed.status_code == 200 and healed.json()[0]["source"].startswith("wiki/page-")

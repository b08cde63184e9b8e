"""The shared devset corpus (next to the repository when present): every document, with its credited authors."""

from __future__ import annotations

import json

import pytest

from ingest.pipeline import ingest
from rag.config import Settings
from tests.ingest.helpers import REPO, by_source, stored_chunks

DEVSET = REPO.parent / "shared" / "devset" / "corpus"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (DEVSET / "AUTHORS.json").exists(), reason=f"no devset at {DEVSET}")]


def test_devset_ingests_every_document_with_sidecar_and_sender_authors(tmp_path):
    sidecar = json.loads((DEVSET / "AUTHORS.json").read_text())
    settings = Settings(embedder="hashing", data_dir=tmp_path / "data")

    summary = ingest(DEVSET, settings)

    assert summary.failed == []
    docs = by_source(stored_chunks(settings))
    assert {src.split("#")[0] for src in docs} == set(sidecar)
    assert set(summary.by_kind) == {"wiki", "retro", "thread"}
    for src, chunks in docs.items():
        expected = sidecar[src.split("#")[0]]["authors"]
        if chunks[0].kind == "thread":  # per-message senders, each chunk credited to its own lines' writers
            assert set(chunks[0].doc_authors) == set(expected), src
            assert all(set(c.authors) == {m.author for m in c.messages} for c in chunks), src
        else:
            assert list(chunks[0].doc_authors) == expected, src

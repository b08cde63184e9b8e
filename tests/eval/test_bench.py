"""The benchmarks run end to end on a tiny generated store (the hashing embedder keeps it fast): the figures
are there, derived chunks land through the seam and the ledger, and concurrent clients get no errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.bench import run
from ingest.manifest import Manifest

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture
def hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("WHOKNOWS_STORE", "WHOKNOWS_DATA_DIR", "WHOKNOWS_COLLECTION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WHOKNOWS_EMBEDDER", "hashing")


def test_build_derives_chunks_through_the_store_and_the_ledger(tmp_path: Path, hashing: None) -> None:
    built = run("build", size=120, real=40, cache=tmp_path)

    assert built["size"] == 120 and built["real_chunks"] >= 40
    assert built["derived_chunks"] == 120 - built["real_chunks"]
    ledger = Manifest(tmp_path / "scale-120-real40-hashing" / "manifest.sqlite")
    try:
        assert sum(len(d.chunk_ids) for d in ledger.all_docs() if d.state == "done") == 120
    finally:
        ledger.close()
    assert run("build", size=120, real=40, cache=tmp_path)["reused"] is True


def test_query_benchmark_reports_ratios_against_the_floor(tmp_path: Path, hashing: None) -> None:
    result = run("query", size=80, real=40, n=6, cache=tmp_path)

    assert result["chunks"] == 80 and result["questions"] == 6
    for part in ("floor", "retrieval", "ask_http"):
        assert result[part]["p50_ms"] > 0 and result[part]["p95_ms"] >= result[part]["p50_ms"]
    assert result["ratios"]["ask/floor p50"] > 0 and result["server_peak_rss_mb"] > 0


def test_concurrency_benchmark_counts_every_request_and_no_errors(tmp_path: Path, hashing: None) -> None:
    result = run("concurrency", size=80, real=40, clients=3, seconds=2.0, cache=tmp_path)

    assert result["requests"] >= 3 and result["errors"] == 0
    assert result["outcomes"] == {"200": result["requests"]}

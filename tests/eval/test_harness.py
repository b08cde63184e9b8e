"""The harness on the sample organisation, with a floor on the headline metrics (a regression fails CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.harness import run_eval
from eval.report import write_report
from rag.config import Settings
from tests.rag.conftest import DATA, engine, gold, sample_settings  # noqa: F401 - session fixtures

pytestmark = pytest.mark.slow

# Floors sit well under the figures measured when they were set (README "Latest figures"), so only a
# real regression trips them, not noise.
FLOORS = {("retrieval", "mrr"): 0.7, ("retrieval", "recall@5"): 0.8, ("citations", "citation_recall"): 0.45,
          ("experts", "expert_p@1"): 0.5, ("abstention", "crag_score"): 0.4}


def test_harness_scores_sample_org_above_floor(sample_settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    report = run_eval(DATA, DATA / "qa.jsonl", sample_settings, store_dir=sample_settings.data_dir)
    assert report.questions >= 40
    for (fam, name), floor in FLOORS.items():
        value = report.metrics[fam][name]
        assert value is not None and value >= floor, f"{fam}.{name} = {value} < floor {floor}"
    assert set(report.by_kind) == {"factual", "how-to", "who-knows", "unanswerable"}
    # Baselines are scored in the same run on the same store.
    assert set(report.baselines) == {"bm25", "llama_index_dense"}
    assert all(report.baselines[b]["retrieval"]["mrr"] is not None for b in report.baselines)
    files = write_report(report, tmp_path / "out")
    assert (tmp_path / "out" / "report.md").read_text().count("| whoknows (hybrid) |") == 1
    for f in files:
        assert f.exists() and f.stat().st_size > 0
    pq = report.per_question[0]
    assert pq.id and pq.kind and isinstance(pq.retrieved, list) and "mrr" in pq.scores

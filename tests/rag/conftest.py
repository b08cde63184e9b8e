"""One store of the sample organisation, built once per session with the real embedding model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from rag.config import Settings
from rag.engine import QueryEngine

DATA = Path(__file__).resolve().parents[2] / "data"


_BUILT: dict[str, Settings] = {}


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Other test packages import this fixture, and pytest treats each import as a fixture of its own:
    # the module-level cache makes them share one store instead of ingesting the corpus once per import.
    if "store" not in _BUILT:
        settings = Settings(data_dir=tmp_path_factory.mktemp("sample-store"))
        summary = ingest(DATA, settings)
        assert summary.failed == [], summary.failed
        _BUILT["store"] = settings
    return _BUILT["store"]


@pytest.fixture(scope="session")
def engine(sample_settings: Settings) -> QueryEngine:
    return QueryEngine(sample_settings)


@pytest.fixture(scope="session")
def gold() -> list[dict]:
    return [json.loads(line) for line in (DATA / "qa.jsonl").read_text().splitlines() if line.strip()]


def source_matches(paths: list[str] | tuple[str, ...], gold_sources: list[str]) -> bool:
    """A gold source names a file or a thread anchor; a thread of a named file also matches."""
    return any(p == g or p.startswith(g + "#") for g in gold_sources for p in paths)

"""Gap-report fixtures: the session's sample store (read only) with a fresh query log per test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import QueryEngine
from rag.types import Answer
from tests.rag.conftest import DATA, sample_settings  # noqa: F401 - the session store, built once

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def gap_settings(sample_settings: Settings, tmp_path: Path) -> Settings:  # noqa: F811
    """The sample organisation's store, with this test's own query log under ``tmp_path``."""
    return sample_settings.model_copy(update={"query_log_path": tmp_path / "queries.sqlite"})


@pytest.fixture
def gap_engine(gap_settings: Settings) -> QueryEngine:
    return QueryEngine(gap_settings)


def ask_all(engine: QueryEngine, asked: list[tuple[str, str, float]]) -> list[Answer]:
    """Ask ``(asker, question, days_ago)`` triples through the real engine, logged at their times."""
    return [engine.ask(q, asker=who, asked_at=NOW - timedelta(days=days)) for who, q, days in asked]


__all__ = ["DATA", "NOW", "ask_all"]

"""A fresh store of each backend per test (the ``chroma_server`` session fixture lives in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from eval.chroma_server import ChromaServer
from rag.config import Settings
from tests.stores.pgserver import PostgresServer

BACKENDS = ["chroma-embedded", pytest.param("chroma-http", marks=pytest.mark.integration),
            pytest.param("postgres", marks=pytest.mark.integration)]


@pytest.fixture(params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Settings]:
    """A factory of settings for a fresh, empty store of the backend under test (same store on each call)."""
    data_dir = tmp_path / "data"
    if request.param == "chroma-embedded":
        base = Settings(store="chroma-embedded", data_dir=data_dir)
    elif request.param == "postgres":
        pg: PostgresServer = request.getfixturevalue("postgres_server")
        base = pg.settings(data_dir)
    else:
        server: ChromaServer = request.getfixturevalue("chroma_server")
        base = server.settings(data_dir)

    def make(**extra: object) -> Settings:
        return base.model_copy(update=extra)

    return make

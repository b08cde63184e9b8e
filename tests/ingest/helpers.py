"""Small helpers for ingest tests: write corpus files, read back what the store holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from ingest.manifest import DocRecord, open_manifest
from rag.config import Settings
from rag.embeddings import make_embedder
from rag.stores import open_store
from rag.types import Chunk, Message

REPO = Path(__file__).resolve().parents[2]
WHOKNOWS = Path(sys.executable).parent / "whoknows"


def write(root: Path, rel: str, text: str | bytes) -> Path:
    """Write ``text`` at ``root/rel``, creating folders."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_json(root: Path, rel: str, data: object) -> Path:
    """Write ``data`` as JSON at ``root/rel``."""
    return write(root, rel, json.dumps(data, indent=1))


def stored_chunks(settings: Settings) -> list[Chunk]:
    """Every chunk in the store, ordered by source then index."""
    store = open_store(settings, make_embedder(settings), create=False)
    return sorted(store.iter_chunks(), key=lambda c: (c.source, c.index))


def by_source(chunks: list[Chunk]) -> dict[str, list[Chunk]]:
    """Chunks grouped by their document's primary source, in reading order."""
    out: dict[str, list[Chunk]] = defaultdict(list)
    for c in chunks:
        out[c.source].append(c)
    return dict(out)


def manifest_docs(settings: Settings) -> list[DocRecord]:
    """Every document the ingest ledger records."""
    m = open_manifest(settings)
    try:
        return m.all_docs()
    finally:
        m.close()


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for a CLI subprocess: the fast embedder, no inherited WHOKNOWS_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHOKNOWS_")}
    env["WHOKNOWS_EMBEDDER"] = "hashing"
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run the installed ``whoknows`` console script."""
    return subprocess.run([str(WHOKNOWS), *args], capture_output=True, text=True, timeout=timeout,
                          env=env or cli_env(), cwd=str(REPO))


def thread_messages(settings: Settings) -> dict[str, list[Message]]:
    """Each stored thread's messages, by the thread's source."""
    return {src: [m for c in cs for m in c.messages] for src, cs in by_source(stored_chunks(settings)).items()}

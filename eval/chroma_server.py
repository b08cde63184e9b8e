"""A real ``chroma run`` server on a loopback port: the store contract and server-mode tests, and the benchmarks."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from eval.procs import free_port, server_process
from rag.config import Settings

CHROMA = Path(sys.executable).parent / "chroma"


@dataclass(frozen=True)
class ChromaServer:
    """A running ``chroma run`` on loopback."""

    host: str
    port: int
    path: Path
    log: Path

    def settings(self, data_dir: Path, **extra: object) -> Settings:
        """Settings for a fresh collection on this server; the manifest stays under ``data_dir``."""
        return Settings(store="chroma-http", chroma_host=self.host, chroma_port=self.port, data_dir=data_dir,
                        collection=f"t-{uuid.uuid4().hex[:12]}", **extra)  # type: ignore[arg-type]


@contextmanager
def chroma_run(base: Path) -> Iterator[ChromaServer]:
    """``chroma run --path BASE/db --host 127.0.0.1 --port FREE``, up once its heartbeat answers, then stopped."""
    assert CHROMA.exists(), f"{CHROMA} is missing - the chroma CLI ships with the chromadb package"
    port = free_port()
    log = base / "server.log"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    argv = [str(CHROMA), "run", "--path", str(base / "db"), "--host", "127.0.0.1", "--port", str(port)]
    # Up to a minute: the server is a Rust binary and usually answers in < 1 s.
    with server_process(argv, ready_url=f"http://127.0.0.1:{port}/api/v2/heartbeat", log=log, env=env,
                        wait_s=60, stop_s=20):
        yield ChromaServer("127.0.0.1", port, base / "db", log)

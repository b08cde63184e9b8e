"""A real ``whoknows serve`` process on a loopback port, for the HTTP benchmarks."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from eval.procs import free_port, server_process
from rag.config import Settings

# The benchmarks measure the engine, not the per-key rate limiter (which would answer 429 to a load test).
BENCH_ENV = {"WHOKNOWS_RATE_LIMIT_PER_MINUTE": "1000000", "WHOKNOWS_RATE_LIMIT_BURST": "100000"}


@dataclass(frozen=True)
class Served:
    """A running server: its URL and process id."""

    url: str
    pid: int

    def peak_rss_mb(self) -> float:
        """The server process's peak resident memory so far (VmHWM, MiB)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a ``whoknows`` subprocess use the same store and embedder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHOKNOWS_")}
    env.update(BENCH_ENV)
    env.update({"WHOKNOWS_EMBEDDER": settings.embedder, "WHOKNOWS_STORE": settings.store,
                "WHOKNOWS_CHROMA_HOST": settings.chroma_host, "WHOKNOWS_CHROMA_PORT": str(settings.chroma_port),
                "WHOKNOWS_COLLECTION": settings.collection, "WHOKNOWS_PG_TEXT_SEARCH": settings.pg_text_search,
                "WHOKNOWS_PG_VECTOR_INDEX": settings.pg_vector_index})
    if settings.database_url:
        env["WHOKNOWS_DATABASE_URL"] = settings.database_url
    return env


@contextmanager
def serve_process(settings: Settings) -> Iterator[Served]:
    """``whoknows serve`` over ``settings.data_dir`` until its /health answers (the store is open); stopped after."""
    port = free_port()
    exe = Path(sys.executable).parent / "whoknows"
    with tempfile.TemporaryDirectory(prefix="whoknows-serve-") as tmp:
        argv = [str(exe), "serve", "--port", str(port), "--data-dir", str(settings.data_dir)]
        # Up to two minutes: a cold start loads the model and opens the store.
        with server_process(argv, ready_url=f"http://127.0.0.1:{port}/health", log=Path(tmp) / "serve.log",
                            env=settings_env(settings), wait_s=120) as proc:
            yield Served(f"http://127.0.0.1:{port}", proc.pid)

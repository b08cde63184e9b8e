"""A real ``whoknows serve`` process on a loopback port, for the HTTP benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

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
                "WHOKNOWS_COLLECTION": settings.collection})
    return env


@contextmanager
def serve_process(settings: Settings) -> Iterator[Served]:
    """``whoknows serve`` over ``settings.data_dir`` until its /health answers (the store is open); stopped after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    exe = Path(sys.executable).parent / "whoknows"
    log = tempfile.NamedTemporaryFile(prefix="whoknows-serve-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--data-dir", str(settings.data_dir)],
                            env=settings_env(settings), stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):  # up to two minutes: a cold start loads the model and opens the store
            if proc.poll() is not None:
                raise RuntimeError(f"whoknows serve exited: {Path(log.name).read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("whoknows serve did not answer /health")
        yield Served(url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()
        Path(log.name).unlink(missing_ok=True)

"""A real ``chroma run`` server on a loopback port, for the store contract and the server-mode tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from rag.config import Settings

CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(CHROMA), "run", "--path", str(base / "db"), "--host", "127.0.0.1",
                                 "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_for_heartbeat(proc, port, log)
        yield ChromaServer("127.0.0.1", port, base / "db", log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def _wait_for_heartbeat(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    for _ in range(600):  # up to a minute: the server is a Rust binary and usually answers in < 1 s
        if proc.poll() is not None:
            raise RuntimeError(f"`chroma run` exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"`chroma run` never answered its heartbeat on port {port}:\n{log.read_text()[-2000:]}")

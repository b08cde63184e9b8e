"""Run a server as a subprocess on a loopback port until a URL of its answers; stop it afterwards.

One helper for every real server the benchmarks and tests start (``whoknows serve``, ``chroma run``,
llama.cpp's OpenAI-compatible server), so each waits, reports a dead start and shuts down the same way.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server_process(argv: Sequence[str], *, ready_url: str, log: Path, env: Mapping[str, str] | None = None,
                   wait_s: float = 120.0, stop_s: float = 30.0) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv`` (output to ``log``), yield once ``ready_url`` answers 200, terminate it on exit.

    A process that exits before it is ready, or never answers within ``wait_s``, raises RuntimeError
    with the tail of its log. Waiting bounds a start-up; it is not a measurement.
    """
    name = Path(argv[0]).name
    with open(log, "wb") as out:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT,
                                env=dict(env) if env is not None else None)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{_tail(log)}")
            try:
                if httpx.get(ready_url, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer {ready_url} within {wait_s:.0f} s:\n{_tail(log)}")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=stop_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=stop_s)


def _tail(log: Path, chars: int = 2000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"

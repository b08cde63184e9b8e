"""Concurrency benchmark: N clients over loopback HTTP against a ``whoknows serve`` process for a fixed time.

Each client is a thread with its own keep-alive connection asking ``POST /ask`` back to back (no think
time), questions rotating. Reported: requests/s, latency p50/p95/max, every non-200 answer or transport
error (the target is zero), and the server's peak RSS.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from eval.bench import CACHE, machine, prepare, summary
from eval.bench_server import serve_process
from rag.config import Settings


def bench_concurrency(*, corpus: Path | None, size: int | None, real: int, clients: int,
                      seconds: float, cache: Path = CACHE) -> dict[str, Any]:
    """Throughput, latency and errors of ``clients`` concurrent askers for ``seconds``."""
    settings, questions = prepare(corpus=corpus, size=size, real=real, base=Settings(), cache=cache)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    with serve_process(settings) as served:
        with httpx.Client(base_url=served.url, timeout=120) as warm:
            for q in questions[:5]:
                warm.post("/ask", json={"question": q}).raise_for_status()
        stop_at = time.monotonic() + seconds

        def client(i: int) -> None:
            mine: list[float] = []
            seen: Counter[str] = Counter()
            with httpx.Client(base_url=served.url, timeout=120) as http:
                j = i
                while time.monotonic() < stop_at:
                    t0 = time.perf_counter()
                    try:
                        r = http.post("/ask", json={"question": questions[j % len(questions)]})
                        seen[str(r.status_code)] += 1
                    except httpx.HTTPError as exc:
                        seen[type(exc).__name__] += 1
                    mine.append((time.perf_counter() - t0) * 1000)
                    j += clients
            with lock:
                latencies.extend(mine)
                outcomes.update(seen)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        server_rss = served.peak_rss_mb()
    total = sum(outcomes.values())
    return {
        "what": "concurrency", "corpus": str(corpus) if size is None else f"generated, {size} chunks",
        "clients": clients, "seconds": round(wall, 1), "requests": total,
        "throughput_rps": round(total / wall, 2), "latency": summary(latencies),
        "max_ms": round(max(latencies), 1) if latencies else 0.0,
        "errors": total - outcomes["200"], "outcomes": dict(outcomes), "server_peak_rss_mb": server_rss,
        "machine": machine(),
    }

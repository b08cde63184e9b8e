"""Concurrency benchmark: N clients over loopback HTTP against a ``whoknows serve`` process for a fixed time.

Each client is a thread with its own keep-alive connection asking ``POST /ask`` back to back (no think
time), questions rotating. Reported: requests/s, latency p50/p95/max, every non-200 answer or transport
error (the target is zero), and the server's peak RSS.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from eval.bench import CACHE, machine, prepare, summary
from eval.bench_scale import Vocabulary, write_pages
from eval.bench_server import serve_process, settings_env
from rag.config import Settings


def bench_concurrency(*, corpus: Path | None, size: int | None, real: int, clients: int,
                      seconds: float, cache: Path = CACHE, ingest_pages: int = 0) -> dict[str, Any]:
    """Throughput, latency and errors of ``clients`` concurrent askers for ``seconds``.

    With ``ingest_pages``, a ``whoknows ingest`` of that many new generated pages (real embeddings) runs
    against the same store meanwhile - on a copy, so the cached store stays as built."""
    settings, questions = prepare(corpus=corpus, size=size, real=real, base=Settings(), cache=cache)
    with tempfile.TemporaryDirectory(prefix="whoknows-load-") as tmp:
        new_pages = None
        if ingest_pages:
            copy = Path(tmp) / "store"
            shutil.copytree(settings.data_dir, copy)
            settings = settings.model_copy(update={"data_dir": copy})
            new_pages = Path(tmp) / "new-pages"
            write_pages(new_pages, Vocabulary(Path("data"), seed=0), pages=ingest_pages, seed=99)
        result = _load(settings, questions, clients=clients, seconds=seconds, new_pages=new_pages)
    result.update({"corpus": str(corpus) if size is None else f"generated, {size} chunks", "machine": machine()})
    return result


def _load(settings: Settings, questions: list[str], *, clients: int, seconds: float,
          new_pages: Path | None) -> dict[str, Any]:
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    ingest_report: dict[str, Any] = {}
    with serve_process(settings) as served:
        with httpx.Client(base_url=served.url, timeout=120) as warm:
            for q in questions[:5]:
                warm.post("/ask", json={"question": q}).raise_for_status()
        proc = None
        if new_pages is not None:
            exe = Path(sys.executable).parent / "whoknows"
            proc = subprocess.Popen(
                [str(exe), "ingest", str(new_pages), "--json", "--data-dir", str(settings.data_dir)],
                env=settings_env(settings), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
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
        if proc is not None:
            still_running = proc.poll() is None
            out, _ = proc.communicate(timeout=1800)
            report = json.loads(out) if out.strip() else {}
            ingest_report = {"ingest_exit": proc.returncode, "ingest_chunks": report.get("chunks"),
                             "ingest_seconds": report.get("seconds"), "ingest_outlasted_the_clients": still_running}
        server_rss = served.peak_rss_mb()
    total = sum(outcomes.values())
    return {
        "what": "concurrency", "clients": clients, "seconds": round(wall, 1), "requests": total,
        "throughput_rps": round(total / wall, 2), "latency": summary(latencies),
        "max_ms": round(max(latencies), 1) if latencies else 0.0,
        "errors": total - outcomes["200"], "outcomes": dict(outcomes), "server_peak_rss_mb": server_rss,
        **ingest_report,
    }

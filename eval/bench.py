"""Benchmarks as ratios against a floor measured in the same run.

    python -m eval.bench query [--corpus data] [--n 100]

query: p50/p95 of ``POST /ask`` (extractive) over real loopback HTTP and of retrieval alone, against
the floor of one query embedding plus one raw vector-store query, on the same questions.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import threading
import time
from pathlib import Path

import httpx

from eval.gold import load_gold
from eval.metrics import percentile
from eval.stores import build_store, eval_settings
from rag.config import Settings
from rag.engine import QueryEngine


def _timed(fn, items: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for q in items:
        t0 = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _summary(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(ms, 50) or 0, 2), "p95_ms": round(percentile(ms, 95) or 0, 2),
            "mean_ms": round(statistics.fmean(ms), 2)}


def bench_query(corpus: Path, qa: Path, n: int) -> dict:
    """Latency of /ask, retrieval and the floor on ``n`` questions cycled from the gold set."""
    import uvicorn

    from api.app import create_app

    settings = eval_settings(corpus, Settings())
    build_store(corpus, settings)
    engine = QueryEngine(settings)
    questions = [g.question for g in load_gold(qa)]
    items = [questions[i % len(questions)] for i in range(n)]
    engine.ask(items[0])  # warm-up: BM25 index build, model first call

    def floor(q: str) -> None:
        engine.store.search(engine.embedder.embed_query(q), k=settings.top_k)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine=engine), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        runs = {"floor": floor, "retrieval": lambda q: engine.retriever.retrieve(q, k=settings.top_k),
                "ask": lambda q: client.post("/ask", json={"question": q}).raise_for_status()}
        for fn in runs.values():  # warm-up: thread pools, caches, connection
            _timed(fn, items[:10])
        # Interleaved, question by question, so machine noise hits all three alike.
        timings: dict[str, list[float]] = {k: [] for k in runs}
        for q in items:
            for name, fn in runs.items():
                timings[name] += _timed(fn, [q])
        floor_ms, retrieval_ms, ask_ms = timings["floor"], timings["retrieval"], timings["ask"]
    server.should_exit = True
    thread.join(timeout=10)
    f, r, a = _summary(floor_ms), _summary(retrieval_ms), _summary(ask_ms)
    return {
        "corpus": str(corpus), "chunks": engine.store.count(), "questions": n,
        "floor": f, "retrieval": r, "ask_http": a,
        "ratios_p50": {"retrieval/floor": round(r["p50_ms"] / f["p50_ms"], 2),
                       "ask/floor": round(a["p50_ms"] / f["p50_ms"], 2)},
        "machine": f"{platform.machine()}, {platform.python_version()}, cores={_cores()}",
    }


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    q = sub.add_parser("query", help="latency of /ask and retrieval vs the floor")
    q.add_argument("--corpus", type=Path, default=Path("data"))
    q.add_argument("--qa", type=Path, default=None)
    q.add_argument("--n", type=int, default=100)
    args = ap.parse_args()
    result = bench_query(args.corpus, args.qa or args.corpus / "qa.jsonl", args.n)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Benchmarks as ratios against a floor measured in the same run (`whoknows bench` calls these).

    python -m eval.bench ingest      [--corpus data]
    python -m eval.bench query       [--corpus data | --size 1000|10000|100000] [--n 100] [--real 1000]
    python -m eval.bench concurrency [--corpus data | --size N] [--clients 8] [--seconds 30] [--ingest-pages P]
    python -m eval.bench build       --size N [--real 1000]

ingest: chunks/s of the full pipeline vs raw sentence-transformers ``encode`` on the same chunk texts, and
vs plain llama-index ``VectorStoreIndex.from_documents``; unchanged re-ingest as a share of a full one.
query: p50/p95 of ``POST /ask`` (extractive) over loopback HTTP and of retrieval alone, against the floor
of one query embedding plus one raw Chroma query, on the same questions; peak RSS of the process.
concurrency: N clients over loopback HTTP against a ``whoknows serve`` process for a fixed time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from eval.gold import load_gold
from eval.metrics import percentile
from eval.stores import build_store, eval_settings
from rag.config import Settings
from rag.engine import QueryEngine

CACHE = Path.home() / ".cache" / "whoknows" / "bench"


def timed(fn: Callable[[str], object], items: list[str]) -> list[float]:
    """Milliseconds of ``fn`` on each item."""
    out = []
    for q in items:
        t0 = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary(ms: list[float]) -> dict[str, float]:
    """p50, p95 and mean of a list of milliseconds."""
    return {"p50_ms": round(percentile(ms, 50) or 0, 2), "p95_ms": round(percentile(ms, 95) or 0, 2),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else 0.0}


def machine() -> str:
    """What the figures were measured on."""
    return f"{platform.machine()}, Python {platform.python_version()}, cores={len(os.sched_getaffinity(0))}"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def prepare(*, corpus: Path | None, size: int | None, real: int, base: Settings,
            cache: Path = CACHE) -> tuple[Settings, list[str]]:
    """A store to measure and the questions to ask it: the sample corpus and its gold questions, or a generated
    corpus of ``size`` chunks (built in a child process, so this process's peak RSS is the serving side)."""
    from eval import bench_scale

    if size is None:
        assert corpus is not None
        settings = eval_settings(corpus, base)
        build_store(corpus, settings)
        return settings, [g.question for g in load_gold(corpus / "qa.jsonl")]
    settings = bench_scale.scale_settings(size, real=real, cache=cache, base=base)
    if not (settings.data_dir / "built.json").exists():
        subprocess.run([sys.executable, "-m", "eval.bench", "build", "--size", str(size), "--real", str(real),
                        "--cache", str(cache)], check=True, env={**os.environ, "WHOKNOWS_EMBEDDER": base.embedder})
    vocab = bench_scale.Vocabulary(Path("data"), seed=0)
    return settings, bench_scale.questions(vocab, 200)


def bench_query(*, corpus: Path | None, size: int | None, n: int, real: int = 1000,
                cache: Path = CACHE) -> dict[str, Any]:
    """Latency of the floor and of retrieval (in this process, interleaved question by question), then of
    ``POST /ask`` against a ``whoknows serve`` process, on the same ``n`` questions.

    The server is started only after the in-process phase: a second process waking between two in-process
    timings slows them by a third on 2 cores, which would flatter every ratio against the floor.
    """
    from eval.bench_server import serve_process
    from rag.types import Filters

    settings, questions = prepare(corpus=corpus, size=size, real=real, base=Settings(), cache=cache)
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    engine = QueryEngine(settings)
    items = [questions[i % len(questions)] for i in range(n)]
    engine.ask(items[0])  # cold start: model load, BM25 index build
    cold_s = time.perf_counter() - t0
    k = settings.top_k
    acl = Filters(groups=("engineering",))  # what every query carries once auth is on

    def floor(q: str) -> None:
        col: Any = engine.store.collection  # type: ignore[union-attr]  # looked up each time: may have reopened
        col.query(query_embeddings=[engine.embedder.embed_query(q).tolist()], n_results=k,
                  include=["documents", "metadatas", "distances"])

    runs: dict[str, Callable[[str], object]] = {
        "floor": floor, "retrieval": lambda q: engine.retriever.retrieve(q, k=k),
        "retrieval_acl": lambda q: engine.retriever.retrieve(q, k=k, filters=acl)}
    for fn in runs.values():  # warm-up: thread pools, caches
        timed(fn, items[:10])
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for q in items:  # interleaved, so machine noise hits all alike
        for name, fn in runs.items():
            timings[name] += timed(fn, [q])
    in_process_rss = peak_rss_mb()
    with serve_process(settings) as served, httpx.Client(base_url=served.url, timeout=60) as client:
        def ask(q: str) -> object:
            return client.post("/ask", json={"question": q}).raise_for_status()

        timed(ask, items[:10])  # warm-up: the server's first questions, its thread pool, the connection
        timings["ask"] = timed(ask, items)
        server_rss = served.peak_rss_mb()
    f, r, a = summary(timings["floor"]), summary(timings["retrieval"]), summary(timings["ask"])
    return {
        "what": "query", "corpus": str(corpus) if size is None else f"generated, {size} chunks",
        "chunks": engine.store.count(), "questions": n, "k": k, "floor": f, "retrieval": r,
        "retrieval_acl_filter": summary(timings["retrieval_acl"]), "ask_http": a,
        "ratios": {"retrieval/floor p50": _ratio(r["p50_ms"], f["p50_ms"]),
                   "ask/floor p50": _ratio(a["p50_ms"], f["p50_ms"]),
                   "retrieval/floor p95": _ratio(r["p95_ms"], f["p95_ms"]),
                   "ask/floor p95": _ratio(a["p95_ms"], f["p95_ms"])},
        "cold_start_s": round(cold_s, 2), "server_peak_rss_mb": server_rss,
        "bench_process_peak_rss_mb": in_process_rss, "bench_process_rss_before_engine_mb": rss_before,
        "machine": machine(),
    }


def _ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else 0.0


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse ``argv``, run one benchmark, print its JSON and return it."""
    ap = argparse.ArgumentParser(prog="python -m eval.bench", description=(__doc__ or "").split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    i = sub.add_parser("ingest", help="pipeline vs raw encode vs llama-index; unchanged re-ingest")
    i.add_argument("--corpus", type=Path, default=Path("data"))
    for name, hlp in (("query", "latency of /ask and retrieval vs the floor"),
                      ("concurrency", "N clients over loopback HTTP for a fixed time")):
        p = sub.add_parser(name, help=hlp)
        p.add_argument("--corpus", type=Path, default=Path("data"))
        p.add_argument("--size", type=int, default=None, help="a generated corpus of this many chunks instead")
        p.add_argument("--real", type=int, default=1000, help="chunks of a generated corpus embedded for real")
        if name == "query":
            p.add_argument("--n", type=int, default=100)
        else:
            p.add_argument("--clients", type=int, default=8)
            p.add_argument("--seconds", type=float, default=30.0)
            p.add_argument("--ingest-pages", type=int, default=0,
                           help="meanwhile ingest this many new generated pages into (a copy of) the store")
    b = sub.add_parser("build", help="build the generated store of --size chunks (cached)")
    b.add_argument("--size", type=int, required=True)
    b.add_argument("--real", type=int, default=1000)
    for p in (q for name, q in sub.choices.items() if name != "ingest"):
        p.add_argument("--cache", type=Path, default=CACHE, help="where generated stores are kept")
    args = ap.parse_args(argv)
    result = run(args.what, **{k: v for k, v in vars(args).items() if k != "what"})
    print(json.dumps(result, indent=2))
    return result


def run(what: str, **opts: Any) -> dict[str, Any]:
    """One benchmark by name with its options (the ``whoknows bench`` entry point)."""
    if what == "ingest":
        from eval.bench_ingest import bench_ingest

        return bench_ingest(opts.get("corpus") or Path("data"))
    if what == "query":
        return bench_query(corpus=opts.get("corpus"), size=opts.get("size"), n=opts.get("n") or 100,
                           real=opts.get("real") or 1000, cache=opts.get("cache") or CACHE)
    if what == "concurrency":
        from eval.bench_load import bench_concurrency

        return bench_concurrency(corpus=opts.get("corpus"), size=opts.get("size"), real=opts.get("real") or 1000,
                                 clients=opts.get("clients") or 8, seconds=opts.get("seconds") or 30.0,
                                 cache=opts.get("cache") or CACHE, ingest_pages=opts.get("ingest_pages") or 0)
    if what == "build":
        from eval import bench_scale

        settings = Settings()
        real = opts.get("real") or 1000
        target = bench_scale.scale_settings(opts["size"], real=real, cache=opts.get("cache") or CACHE, base=settings)
        return bench_scale.build(opts["size"], real=real, settings=target, sample=Path("data"))
    raise ValueError(f"unknown benchmark {what!r} - one of ingest, query, concurrency, build")


if __name__ == "__main__":
    main()

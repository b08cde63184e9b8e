"""Label-free calibration of the fusion weight, per corpus.

An organisation has no gold questions, but its corpus asks questions of itself: a page's title and its
section headings are short queries whose answer is that page, and a thread's opening message is a question
whose answer is that thread. ``tune`` retrieves every such pseudo-query once, fuses the two runs with each
candidate weight and keeps the weight whose pseudo-query MRR (smoothed over its neighbours, so one lucky
grid point does not win) is highest - or, among the weights the pseudo-queries cannot tell from it (within one
standard error of the paired difference), the one nearest an even split (:func:`choose`). The choice is
stored in ``data_dir/fusion.json`` and the engine uses it.

A heading's own section, and a thread's opening chunk, are hidden from both runs: the pseudo-query must find
its document through the rest of it. Left in, the query's exact words sit in the passage it came from, every
pseudo-query is an exact-match lookup, and BM25 wins them all (on data/ BM25 alone scored 0.98 pseudo-query
MRR, dense 0.77, and the weight chosen was the grid's BM25 end while the gold questions wanted the dense
side). Hidden, the two rankers are on a par and the choice lands near the middle, as on the gold sets.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal, NamedTuple

from pydantic import Field

from rag.config import Settings
from rag.fusion import parse_fusion
from rag.retrieval import HybridRetriever
from rag.text import key_terms
from rag.types import Chunk, Frozen, Fusion, stable_hash

log = logging.getLogger("whoknows.tune")

FUSION_FILE = "fusion.json"
# What wins across the gold sets (README, "Fusion"); the weight is the fallback when a corpus is not tuned.
DEFAULT_FUSION = Fusion(method="zscore", weight=0.5)
WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
MIN_QUERIES = 20  # fewer pseudo-queries than this say too little: keep the default
TUNE_RULE = 2  # 2: the even split among weights within noise of the best (:func:`choose`); 1: smoothed best
RETUNE_CHANGE = 0.2  # re-tune at ingest when the chunk count moved by more than this share since tuning


class PseudoQuery(Frozen):
    """A query made from the corpus itself, with the document that answers it."""

    query: str
    doc_id: str
    origin: Literal["title", "heading", "opener"]
    hide: tuple[str, ...] = Field(default=(), description="Chunk ids left out of both runs (the query's source).")


class Tuning(Frozen):
    """What ``tune`` chose and why: pseudo-query MRR per candidate weight."""

    chosen: Fusion
    queries: int
    by_origin: dict[str, int] = Field(default_factory=dict)
    mrr: dict[str, float] = Field(default_factory=dict, description="candidate label -> pseudo-query MRR")
    chunks: int = 0
    tuned_at: str = ""
    rule: int = Field(default=1, description="Version of the choosing rule; an older one is stale (:func:`current`).")


class _Slim(NamedTuple):
    """What a pseudo-query needs of a chunk (a store's chunks stream by; tens of thousands of whole chunks would
    be hundreds of MB). Titles and kinds are interned: every chunk of a document repeats them."""

    chunk_id: str
    position: int  # the chunk's index in its document (``index`` is a tuple method)
    kind: str
    title: str
    section: str
    opener: str  # a thread chunk's first message (or text), cut to 60 words; '' for pages


def _slim(c: Chunk) -> _Slim:
    opener = ""
    if c.kind == "thread":
        opener = " ".join((c.messages[0].text if c.messages else c.text).split()[:60])
    return _Slim(c.chunk_id, c.index, sys.intern(c.kind), sys.intern(c.title), c.section, opener)


def _opener(chunks: list[_Slim]) -> tuple[str, str]:
    first = min(chunks, key=lambda c: c.position)
    return first.opener, first.chunk_id


def pseudo_queries(chunks: Iterable[Chunk], *, per_origin: int = 150) -> list[PseudoQuery]:
    """Titles and section headings of pages (each naming one page only), openers of threads.

    A heading query hides its section's chunks and an opener its thread's first chunk (see the module
    docstring); documents with nothing left to find give none. At most ``per_origin`` of each kind, picked
    by a stable hash so the same corpus gives the same set."""
    docs: dict[str, list[_Slim]] = defaultdict(list)
    for chunk in chunks:
        docs[chunk.doc_id].append(_slim(chunk))
    titles = Counter(cs[0].title.strip().lower() for cs in docs.values())
    headings: dict[str, set[str]] = defaultdict(set)
    for doc_id, cs in docs.items():
        for c in cs:
            if c.section:
                headings[c.section.split(" > ")[-1].strip().lower()].add(doc_id)
    out: dict[str, list[PseudoQuery]] = defaultdict(list)
    for doc_id, cs in docs.items():
        if cs[0].kind == "thread":
            opener, first = _opener(cs)
            if len(key_terms(opener)) >= 4 and len(cs) > 1:
                out["opener"].append(PseudoQuery(query=opener, doc_id=doc_id, origin="opener", hide=(first,)))
            continue
        title = cs[0].title.strip()
        if len(key_terms(title)) >= 2 and titles[title.lower()] == 1:
            out["title"].append(PseudoQuery(query=title, doc_id=doc_id, origin="title"))
        for heading in dict.fromkeys(c.section.split(" > ")[-1].strip() for c in cs if c.section):
            own = tuple(c.chunk_id for c in cs if c.section.split(" > ")[-1].strip() == heading)
            if len(key_terms(heading)) >= 2 and headings[heading.lower()] == {doc_id} and len(own) < len(cs):
                out["heading"].append(PseudoQuery(query=heading, doc_id=doc_id, origin="heading", hide=own))
    picked: list[PseudoQuery] = []
    for origin in ("title", "heading", "opener"):
        qs = sorted(out[origin], key=lambda q: stable_hash(q.doc_id, q.query))
        picked.extend(qs[:per_origin])
    return picked


def _reciprocal_rank(doc_ids: Sequence[str], target: str) -> float:
    for rank, d in enumerate(doc_ids, start=1):
        if d == target:
            return 1.0 / rank
    return 0.0


def tune(retriever: HybridRetriever, queries: Sequence[PseudoQuery], *, method: str = DEFAULT_FUSION.method,
         weights: Sequence[float] = WEIGHTS, chunks: int = 0) -> Tuning:
    """Choose ``method``'s weight on ``queries`` (each retrieved once; fused offline for every weight)."""
    candidates = [Fusion(method=method, weight=w) for w in weights]  # type: ignore[arg-type]
    rr: list[list[float]] = [[] for _ in candidates]  # reciprocal rank per candidate, per query
    for q in queries:
        got = retriever.retrieve(q.query, k=10)
        dense = [(c, s) for c, s in got.dense if c.chunk_id not in q.hide]
        lexical = [(c, s) for c, s in got.bm25 if c.chunk_id not in q.hide]
        for i, f in enumerate(candidates):
            hits = retriever.fuse(q.query, dense=dense, lexical=lexical, k=10, fusion=f)
            rr[i].append(_reciprocal_rank(list(dict.fromkeys(h.chunk.doc_id for h in hits)), q.doc_id))
    n = max(len(queries), 1)
    mrr = [sum(r) / n for r in rr]
    best = choose(list(weights), rr)
    return Tuning(chosen=candidates[best], queries=len(queries), by_origin=dict(Counter(q.origin for q in queries)),
                  mrr={f.label: round(v, 4) for f, v in zip(candidates, mrr, strict=True)}, chunks=chunks,
                  tuned_at=datetime.now(UTC).isoformat(timespec="seconds"), rule=TUNE_RULE)


def choose(weights: Sequence[float], rr: Sequence[Sequence[float]]) -> int:
    """Index of the weight to use, from each weight's reciprocal ranks on the same pseudo-queries.

    The best weight by MRR smoothed over its neighbours (a plateau beats a spike) is only a candidate: every
    weight whose MRR is within one standard error of the *paired* difference from it (the same queries, so
    the noise is that of the difference) is as good as far as the pseudo-queries can tell, and of those the
    one nearest an even split wins. Smoothing alone favoured the grid's edge (fewer neighbours): on a fresh
    threadset store, whose pseudo-query MRRs spanned 0.41-0.45, it chose 0.8 where the gold questions want
    0.5-0.6 (R@1 0.968 vs 0.996; README, "Fifth session").
    """
    n = len(rr[0]) if rr else 0
    if n == 0:
        return min(range(len(weights)), key=lambda i: abs(weights[i] - 0.5))
    mrr = [sum(r) / n for r in rr]
    smooth = [sum(mrr[max(i - 1, 0): i + 2]) / len(mrr[max(i - 1, 0): i + 2]) for i in range(len(mrr))]
    best = max(range(len(weights)), key=lambda i: (round(smooth[i], 4), -abs(weights[i] - 0.5)))

    def indistinct(i: int) -> bool:
        d = [a - b for a, b in zip(rr[best], rr[i], strict=True)]
        mean = sum(d) / n
        var = sum((x - mean) ** 2 for x in d) / max(n - 1, 1)
        return mean <= (var / n) ** 0.5

    return min((i for i in range(len(weights)) if indistinct(i)), key=lambda i: (abs(weights[i] - 0.5), -mrr[i]))


def load_tuning(settings: Settings) -> Tuning | None:
    """The stored choice for this data dir, or None (absent or unreadable: the default applies)."""
    path = settings.data_dir / FUSION_FILE
    try:
        return Tuning.model_validate_json(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s) - using the default fusion; run `whoknows tune` to rewrite it", path, exc)
        return None


def save_tuning(settings: Settings, tuning: Tuning) -> None:
    """Write the choice to ``data_dir/fusion.json``."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / FUSION_FILE).write_text(json.dumps(tuning.model_dump(mode="json"), indent=2) + "\n")


def engine_fusion(settings: Settings) -> Fusion:
    """``WHOKNOWS_FUSION`` if set, else the weight tuned for this corpus, else :data:`DEFAULT_FUSION`."""
    if settings.fusion:
        return parse_fusion(settings.fusion, rrf_k=settings.rrf_k)
    tuned = load_tuning(settings)
    chosen = tuned.chosen if tuned is not None and current(tuned) else DEFAULT_FUSION
    return chosen.model_copy(update={"rrf_k": settings.rrf_k})


def current(tuning: Tuning) -> bool:
    """A stored choice counts only for the fusion method tuned today: one made for another method (an older
    release tuned RRF) is stale, and is neither used nor kept - the next ingest or ``tune`` re-does it. So is one
    made by an older choosing rule (:data:`TUNE_RULE`): rule 1 chose the grid's edge on flat pseudo-query MRRs."""
    return tuning.chosen.method == DEFAULT_FUSION.method and tuning.rule == TUNE_RULE


def needs_tuning(settings: Settings, *, chunks: int) -> bool:
    """No stored choice yet, a stale one (:func:`current`), or the corpus grew or shrank by more than
    :data:`RETUNE_CHANGE` since."""
    tuned = load_tuning(settings)
    if tuned is None or not current(tuned):
        return True
    return abs(chunks - tuned.chunks) > RETUNE_CHANGE * max(tuned.chunks, 1)


def tune_retriever(settings: Settings, retriever: HybridRetriever, *, force: bool = False) -> Tuning | None:
    """Tune and store the weight for this data dir when :func:`needs_tuning` (or ``force``); the retriever
    then uses it unless ``WHOKNOWS_FUSION`` pins a fusion. None when nothing was done."""
    count = retriever.store.count()
    if not force and not needs_tuning(settings, chunks=count):
        return None
    # Straight from the store: a corpus of too few documents (however long) is not tuned, and then the BM25
    # index, hundreds of MB at tens of thousands of chunks, is never built for nothing.
    queries = pseudo_queries(retriever.store.iter_chunks())
    if len(queries) < MIN_QUERIES:
        tuning = Tuning(chosen=DEFAULT_FUSION, queries=len(queries), chunks=count, rule=TUNE_RULE,
                        by_origin=dict(Counter(q.origin for q in queries)),
                        tuned_at=datetime.now(UTC).isoformat(timespec="seconds"))
    else:
        tuning = tune(retriever, queries, chunks=count)
    save_tuning(settings, tuning)
    if not settings.fusion:
        retriever.fusion = tuning.chosen.model_copy(update={"rrf_k": settings.rrf_k})
    return tuning


def tune_store(settings: Settings, *, force: bool = False) -> Tuning | None:
    """:func:`tune_retriever` on the store in ``settings.data_dir`` (what ``whoknows ingest`` and ``tune`` run)."""
    from rag.engine import QueryEngine  # the engine reads this module's choice

    engine = QueryEngine(settings.model_copy(update={"query_log": "off"}))
    return tune_retriever(settings, engine.retriever, force=force)

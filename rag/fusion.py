"""Fusion functions: the dense and the BM25 run of one query become one score per chunk.

Every function takes each run as ``{id: score}`` in the run's own order (best first) and returns
``{id: fused score}``; higher is better. ``weight`` is always dense's share, BM25 gets ``1 - weight``.

- :func:`rrf` - weighted reciprocal-rank fusion, ``w / (k + rank)`` summed over runs (ranks only).
- :func:`convex` - a convex combination of per-query normalised scores (:func:`minmax` or :func:`zscore`;
  Bruch et al., 2023, "An Analysis of Fusion Functions for Hybrid Retrieval"). A chunk missing from one run
  gets that run's lowest normalised score: it was not in its top candidates.
- :func:`adaptive_weight` - moves the weight per query: towards BM25 when the query holds an exact identifier
  (error code, version, flag, path) that BM25's top hit contains, towards dense when BM25's top hit misses
  most of the query's terms or its scores are flat.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from rag.bm25 import bm25_tokens
from rag.errors import BadInput
from rag.types import Fusion

Scores = Mapping[str, float]

# An identifier: letters and digits together (E1234, v1.27.3, eu-west-1, 8f2c1e0, CVE-2021-44228) but not a
# count ("90-day"), a dotted version (1.27), a snake_case name, a flag (--force), a path (/etc/hosts), or a
# camelCase name with two humps or a capitalised run (CrashLoopBackOff, getItemById, OOMKilled); one hump is
# usually a brand (iOS, WireGuard, MacBook). Plain numbers and plain words do not count.
_SHAPE = re.compile(r"\d\.\d|\w_\w|^--?[a-zA-Z]|/\w+/|[a-z][A-Z].*[a-z][A-Z]|[A-Z]{2,}[a-z]")
_COUNT = re.compile(r"^\d+-[a-z]+$", re.IGNORECASE)
ADAPTIVE_STEP = 0.2  # how far one signal moves the weight; the base weight stays the per-corpus choice
ADAPTIVE_NORM = "zscore"


def rrf(dense: Scores, lexical: Scores, *, weight: float, k: int = 60) -> dict[str, float]:
    """Weighted reciprocal-rank fusion: ``weight / (k + dense rank) + (1 - weight) / (k + BM25 rank)``."""
    out: dict[str, float] = {}
    for run, w in ((dense, weight), (lexical, 1.0 - weight)):
        for rank, cid in enumerate(run, start=1):
            out[cid] = out.get(cid, 0.0) + w / (k + rank)
    return out


def minmax(scores: Scores) -> dict[str, float]:
    """Scores mapped onto [0, 1] by the run's own minimum and maximum (all 1.0 when they are equal)."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi - lo <= 1e-12:
        return {cid: 1.0 for cid in scores}
    return {cid: (s - lo) / (hi - lo) for cid, s in scores.items()}


def zscore(scores: Scores) -> dict[str, float]:
    """Scores as standard deviations from the run's mean (all 0.0 when the run has no spread)."""
    if not scores:
        return {}
    vals = list(scores.values())
    mean = sum(vals) / len(vals)
    sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))
    if sd <= 1e-12:
        return {cid: 0.0 for cid in scores}
    return {cid: (s - mean) / sd for cid, s in scores.items()}


_NORMS = {"minmax": minmax, "zscore": zscore}


def convex(dense: Scores, lexical: Scores, *, weight: float, norm: str = "minmax") -> dict[str, float]:
    """``weight * norm(dense) + (1 - weight) * norm(BM25)``; a chunk absent from a run gets its minimum."""
    nd, nl = _NORMS[norm](dense), _NORMS[norm](lexical)
    floor_d = min(nd.values(), default=0.0)
    floor_l = min(nl.values(), default=0.0)
    return {cid: weight * nd.get(cid, floor_d) + (1.0 - weight) * nl.get(cid, floor_l)
            for cid in dict.fromkeys([*nd, *nl])}


def identifiers(query: str) -> list[str]:
    """Exact identifiers in a query (error codes, versions, flags, paths, snake_case and camelCase names)."""
    out = []
    for token in query.split():
        t = token.strip("?!,;:()[]{}\"'")
        t = t.rstrip(".")
        if len(t) < 2:
            continue
        has_alnum = any(ch.isdigit() for ch in t) and any(ch.isalpha() for ch in t) and not _COUNT.match(t)
        if has_alnum or _SHAPE.search(t):
            out.append(t.lower())
    return out


def adaptive_weight(query: str, *, base: float, bm25_scores: Sequence[float], bm25_top_text: str) -> float:
    """Dense's weight for this query, moved from ``base`` by what the BM25 run shows (within [0.05, 0.95]).

    - an identifier of the query occurs verbatim in BM25's top hit: an exact match that embeddings blur,
      so BM25 is trusted more (one step);
    - BM25's top hit holds under half of the query's terms: it matched on a fragment (one step to dense);
    - BM25's scores are flat (the 5th within 10% of the 1st): its order says little (one step to dense).
    """
    if not bm25_scores:
        return base
    w = base
    top = bm25_top_text.lower()
    if any(i in top for i in identifiers(query)):
        w -= ADAPTIVE_STEP
    terms = set(bm25_tokens(query))
    if terms and len(terms & set(bm25_tokens(bm25_top_text))) < 0.5 * len(terms):
        w += ADAPTIVE_STEP
    if len(bm25_scores) >= 5 and bm25_scores[4] >= 0.9 * bm25_scores[0]:
        w += ADAPTIVE_STEP
    return min(max(w, 0.05), 0.95)


def fuse(dense: Scores, lexical: Scores, *, fusion: Fusion, query: str = "",
         bm25_top_text: str = "") -> dict[str, float]:
    """One fused score per chunk id, by ``fusion``'s method and weight."""
    if fusion.method == "rrf":
        return rrf(dense, lexical, weight=fusion.weight, k=fusion.rrf_k)
    if fusion.method == "adaptive":
        w = adaptive_weight(query, base=fusion.weight, bm25_scores=list(lexical.values()),
                            bm25_top_text=bm25_top_text)
        return convex(dense, lexical, weight=w, norm=ADAPTIVE_NORM)
    return convex(dense, lexical, weight=fusion.weight, norm=fusion.method)


def parse_fusion(text: str, *, rrf_k: int = 60) -> Fusion:
    """``NAME[:weight]`` (``rrf``, ``minmax``, ``zscore``, ``adaptive``; weight = dense's share, default 0.5)."""
    name, _, w = text.strip().partition(":")
    if name not in ("rrf", "minmax", "zscore", "adaptive"):
        raise BadInput(f"unknown fusion {name!r} - use rrf, minmax, zscore or adaptive, optionally with "
                       ":WEIGHT (dense's share, 0..1), e.g. zscore:0.6", field="fusion")
    try:
        weight = float(w) if w else 0.5
    except ValueError:
        raise BadInput(f"fusion weight {w!r} is not a number - e.g. zscore:0.6", field="fusion") from None
    if not 0.0 <= weight <= 1.0:
        raise BadInput(f"fusion weight {weight} is outside 0..1 (it is dense's share)", field="fusion")
    return Fusion(method=name, weight=weight, rrf_k=rrf_k)  # type: ignore[arg-type]

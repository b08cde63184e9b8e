"""Every fusion candidate side by side, on the runs the evaluation already made.

Each gold question's dense and BM25 candidate lists are retrieved once (by the harness, through the engine's
own retriever) and fused here offline with every candidate, so a sweep costs no extra embedding or search.
The report puts each candidate next to the baselines and names the weight the corpus chose for itself
(``whoknows tune``, label-free) and the weight the gold questions would have chosen."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel

from eval import metrics as m
from eval.gold import GoldItem
from rag.engine import QueryEngine
from rag.retrieval import Retrieved
from rag.tune import WEIGHTS, load_tuning
from rag.types import Fusion, Hit

METHODS = ("rrf", "minmax", "zscore", "adaptive")
COLUMNS = ("recall@1", "recall@5", "mrr", "ndcg@10")
Scorer = Callable[[list[Hit], GoldItem], dict[str, float | None]]


class SweepRow(BaseModel):
    system: str
    metrics: dict[str, float | None]


class FusionSweep(BaseModel):
    """The candidates' retrieval figures, the engine's fusion, the self-chosen and the gold-best weight."""

    rows: list[SweepRow]
    engine: str
    self_chosen: str | None = None
    pseudo_queries: int | None = None
    gold_best: str
    best_overall: str


def candidates() -> list[Fusion]:
    """Every method at every weight ``whoknows tune`` considers."""
    return [Fusion(method=meth, weight=w) for meth in METHODS for w in WEIGHTS]  # type: ignore[arg-type]


def _means(per_question: Sequence[dict[str, float | None]]) -> dict[str, float | None]:
    return {c: (round(v, 4) if (v := m.mean(q.get(c) for q in per_question)) is not None else None)
            for c in COLUMNS}


def _rank_key(row: SweepRow, weight: float) -> tuple[float, float, float]:
    return (row.metrics.get("mrr") or 0.0, row.metrics.get("recall@1") or 0.0, -abs(weight - 0.5))


def sweep_fusion(engine: QueryEngine, runs: Sequence[tuple[GoldItem, Retrieved]], *, score: Scorer,
                 baselines: dict[str, dict[str, float | None]]) -> FusionSweep:
    """Fuse each question's stored runs with every candidate and score them with ``score``."""
    retriever = engine.retriever
    rows: list[SweepRow] = []
    weights: dict[str, float] = {}
    for f in candidates():
        f = f.model_copy(update={"rrf_k": retriever.fusion.rrf_k})
        per_q = [score(retriever.fuse(item.question, dense=got.dense, lexical=got.bm25, k=10, fusion=f), item)
                 for item, got in runs]
        rows.append(SweepRow(system=f.label, metrics=_means(per_q)))
        weights[f.label] = f.weight
    own = retriever.fusion
    same_method = [r for r in rows if r.system.split(":")[0] == own.method]
    gold_best = max(same_method, key=lambda r: _rank_key(r, weights[r.system]))
    best = max(rows, key=lambda r: _rank_key(r, weights[r.system]))
    tuned = load_tuning(engine.settings)
    for name, vals in baselines.items():
        rows.append(SweepRow(system=name, metrics={c: vals.get(c) for c in COLUMNS}))
    return FusionSweep(rows=rows, engine=own.label, gold_best=gold_best.system, best_overall=best.system,
                       self_chosen=tuned.chosen.label if tuned is not None and not engine.settings.fusion else None,
                       pseudo_queries=tuned.queries if tuned is not None else None)


def sweep_lines(sweep: FusionSweep) -> list[str]:
    """The sweep as aligned text lines (the CLI prints them; report.md embeds them)."""
    lines = [f"{'fusion':22s} " + " ".join(f"{c:>8s}" for c in COLUMNS)]
    for r in sweep.rows:
        marks = "".join(mark for mark, name in (("*", sweep.engine), ("s", sweep.self_chosen),
                                                 ("g", sweep.gold_best)) if name == r.system)
        vals = " ".join(f"{v:8.3f}" if isinstance(v, float) else f"{'-':>8s}" for v in r.metrics.values())
        lines.append(f"{r.system + (' ' + marks if marks else ''):22s} {vals}")
    chosen = (f"self-chosen {sweep.self_chosen} on {sweep.pseudo_queries} pseudo-queries"
              if sweep.self_chosen else "fusion pinned by WHOKNOWS_FUSION / --fusion")
    lines.append(f"* engine {sweep.engine}; s {chosen}; g gold-best weight for the engine's method "
                 f"{sweep.gold_best}; best overall {sweep.best_overall}")
    return lines

"""The evaluation run: ingest (or reuse) a store, ask every gold question through the public engine,
score retrieval, citations, answers, experts, abstention and latency - next to baselines."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from eval import metrics as m
from eval.baselines import llama_index_dense, llama_index_doc_ranking
from eval.gold import GoldItem, load_gold, source_matches
from eval.stores import build_store, eval_settings
from eval.sweep import FusionSweep, sweep_fusion
from rag.config import Settings
from rag.engine import QueryEngine
from rag.people import PeopleDirectory
from rag.retrieval import Retrieved
from rag.tune import tune_retriever
from rag.types import Answer, Hit

KINDS = ("factual", "how-to", "who-knows", "unanswerable")


class QuestionResult(BaseModel):
    id: str
    kind: str
    question: str
    retrieved: list[list[str]]
    cited: list[list[str]]
    experts: list[str]
    abstained: bool
    confidence: float
    answer: str
    scores: dict[str, float | None]
    baselines: dict[str, dict[str, float | None]]
    latency_ms: float


class EvalReport(BaseModel):
    corpus: str
    qa: str
    questions: int
    metrics: dict[str, dict[str, float | None]]
    baselines: dict[str, dict[str, dict[str, float | None]]]
    by_kind: dict[str, dict[str, dict[str, float | None]]]
    per_question: list[QuestionResult]
    fusion: FusionSweep | None = None


def _doc_ranking(hits: list[Hit]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for h in hits:
        if h.chunk.doc_id not in seen:
            seen.add(h.chunk.doc_id)
            out.append(h.chunk.paths or (h.chunk.source,))
    return out


def _retrieval(ranked: list[tuple[str, ...]], gold: list[str]) -> dict[str, float | None]:
    return {"recall@1": m.recall_at_k(ranked, gold, k=1), "recall@5": m.recall_at_k(ranked, gold, k=5),
            "recall@10": m.recall_at_k(ranked, gold, k=10), "mrr": m.mrr(ranked, gold),
            "ndcg@10": m.ndcg_at_k(ranked, gold, k=10)}


def score_question(item: GoldItem, answer: Answer, hits: list[Hit], *, engine: QueryEngine,
                   aliases: dict[str, str]) -> dict[str, float | None]:
    """Every per-question score of the full pipeline."""
    s: dict[str, float | None] = dict(_retrieval(_doc_ranking(hits), item.sources))
    cited = [tuple(engine.document(c.doc_id).paths or (c.source,)) for c in answer.citations]
    quotes = [c.quote for c in answer.citations]
    s["citation_precision"] = m.citation_precision(cited, item.sources, cited_texts=quotes, evidence=item.evidence)
    s["citation_recall"] = m.citation_recall(cited, item.sources)
    answerable = item.kind != "unanswerable"
    if answerable and item.answer:
        text = "" if answer.abstained else answer.answer
        s["token_f1"] = m.token_f1(text, item.answer)
        s["rouge_l"] = m.rouge_l(text, item.answer)
        if text:
            va, vb = engine.embedder.embed_documents([text, item.answer])
            s["semantic_similarity"] = m.cosine(va.tolist(), vb.tolist())
        else:
            s["semantic_similarity"] = 0.0
        s["evidence_hit"] = m.evidence_hit(text + " " + " ".join(quotes), item.evidence)
    names = [e.name for e in answer.experts]
    s["expert_p@1"] = m.expert_p_at_1(names, item.experts, aliases=aliases)
    s["expert_strict_p@1"] = m.expert_strict_p_at_1(names, item.experts, aliases=aliases)
    s["expert_mrr"] = m.expert_mrr(names, item.experts, aliases=aliases)
    s["expert_map"] = m.expert_average_precision(names, item.experts, aliases=aliases)
    s["asker_p@1"] = m.asker_p_at_1(names, item.asker, aliases=aliases)
    cited_gold = any(source_matches(p, g) for c in cited for p in c for g in item.sources)
    s["crag"] = float(m.crag_score(answerable=answerable, abstained=answer.abstained, cited_gold=cited_gold))
    return s


FAMILIES = {
    "retrieval": ["recall@1", "recall@5", "recall@10", "mrr", "ndcg@10"],
    "citations": ["citation_precision", "citation_recall"],
    "answers": ["token_f1", "rouge_l", "semantic_similarity", "evidence_hit"],
    "experts": ["expert_p@1", "expert_strict_p@1", "expert_mrr", "expert_map", "asker_p@1"],
}


def aggregate(results: list[QuestionResult]) -> dict[str, dict[str, float | None]]:
    """Means per metric family, abstention precision/recall, CRAG score, latency percentiles."""
    out: dict[str, dict[str, float | None]] = {}
    for fam, names in FAMILIES.items():
        out[fam] = {n: _r(m.mean(r.scores.get(n) for r in results)) for n in names}
    ab = m.abstention_scores([(r.kind == "unanswerable", r.abstained) for r in results])
    out["abstention"] = {k: (_r(v) if isinstance(v, float) else v) for k, v in ab.model_dump().items()}
    out["abstention"]["crag_score"] = _r(m.mean(r.scores.get("crag") for r in results))
    lat = [r.latency_ms for r in results]
    out["latency_ms"] = {"p50": _r(m.percentile(lat, 50)), "p95": _r(m.percentile(lat, 95))}
    return out


def _r(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v


def run_eval(corpus: Path, qa: Path, settings: Settings, *, fresh: bool = False, store_dir: Path | None = None,
             progress: Any = None) -> EvalReport:
    """Score the full pipeline and the baselines on one gold set.

    The store is ``store_dir`` if given, a new temporary one with ``fresh``, else a cached store for
    this corpus (re-ingest is incremental, so unchanged content embeds nothing)."""
    items = load_gold(qa)
    tmp = tempfile.TemporaryDirectory(prefix="whoknows-eval-") if fresh else None
    if store_dir is not None:
        es = settings.model_copy(update={"data_dir": store_dir, "query_log": "off"})
    elif tmp:
        es = settings.model_copy(update={"data_dir": Path(tmp.name), "query_log": "off"})
    else:
        es = eval_settings(corpus, settings)
    try:
        build_store(corpus, es)
        engine = QueryEngine(es)
        tune_retriever(es, engine.retriever)  # label-free, as `whoknows ingest` does; only when stale
        people_file = es.data_dir / "people.json"
        aliases = _aliases(PeopleDirectory.load(people_file)) if people_file.exists() else {}
        dense_li = llama_index_dense(engine, top_k=10)
        results = []
        runs: list[tuple[GoldItem, Retrieved]] = []
        for i, item in enumerate(items):
            if progress:
                progress(i, len(items))
            answer = engine.ask(item.question)
            got = engine.retriever.retrieve(item.question, k=10)  # = engine.search; the runs feed the sweep
            hits = got.hits
            runs.append((item, got))
            bm25 = _doc_ranking(engine.search(item.question, k=10, mode="bm25"))
            dense = llama_index_doc_ranking(dense_li, item.question)
            scores = score_question(item, answer, hits, engine=engine, aliases=aliases)
            results.append(QuestionResult(
                id=item.id, kind=item.kind, question=item.question,
                retrieved=[list(p) for p in _doc_ranking(hits)],
                cited=[[c.source] for c in answer.citations], experts=[e.name for e in answer.experts],
                abstained=answer.abstained, confidence=answer.confidence, answer=answer.answer, scores=scores,
                baselines={"bm25": _retrieval(bm25, item.sources),
                           "llama_index_dense": _retrieval(dense, item.sources)},
                latency_ms=answer.latency_ms))
        by_kind = {k: aggregate([r for r in results if r.kind == k]) for k in KINDS
                   if any(r.kind == k for r in results)}
        baselines = {
            name: {"retrieval": {n: _r(m.mean(r.baselines[name].get(n) for r in results))
                                 for n in FAMILIES["retrieval"]}}
            for name in ("bm25", "llama_index_dense")
        }
        fusion = sweep_fusion(engine, runs, score=lambda h, it: _retrieval(_doc_ranking(h), it.sources),
                              baselines={k: v["retrieval"] for k, v in baselines.items()})
        return EvalReport(corpus=str(corpus), qa=str(qa), questions=len(results), metrics=aggregate(results),
                          baselines=baselines, by_kind=by_kind, per_question=results, fusion=fusion)
    finally:
        if tmp:
            tmp.cleanup()


def _aliases(people: PeopleDirectory) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in people._people.values():  # noqa: SLF001 - the directory is ours
        for a in (p.name, *p.aliases, *([p.email] if p.email else [])):
            out[m.normalize_name(a)] = m.normalize_name(p.name)
    return out


def weakest_kinds(report: EvalReport, metric: tuple[str, str] = ("abstention", "crag_score")) -> list[str]:
    """Question kinds ordered from weakest to strongest on one metric."""
    fam, name = metric
    vals = defaultdict(float)
    for k, agg in report.by_kind.items():
        vals[k] = agg.get(fam, {}).get(name) or 0.0
    return sorted(vals, key=lambda k: vals[k])

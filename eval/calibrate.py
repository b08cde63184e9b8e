"""Calibrate the abstention model on gold sets, leave-one-corpus-out.

    python -m eval.calibrate \\
      --set data data/qa.jsonl,eval/gold/nearmiss-data.jsonl \\
      --set ../shared/devset/corpus ../shared/devset/qa.jsonl,eval/gold/nearmiss-devset.jsonl \\
      --set ../shared/threadset/corpus ../shared/threadset/qa.jsonl,eval/gold/nearmiss-threadset.jsonl \\
      --write

Label: 1 when answering would be right - the question is answerable AND a gold source is among the
retrieved documents; 0 otherwise (unanswerable, or the evidence is not there). The model is a logistic
regression over :class:`rag.abstain.Signals` in which every corpus counts alike and, within a corpus, both
labels count alike (the goal is balanced accuracy on a corpus the model has not seen: abstaining where
nothing answers and answering where something does count alike, whatever the mix or size of a gold set),
C=1, threshold 0.5. C and the threshold were fixed before the folds were run; the per-corpus weighting
replaced pooled class-balanced weights after both were compared on these folds (README "Latest figures").

Folds are **leave-one-corpus-out**: train on every corpus but one, test on that one - what a new
organisation is. Each fold reports balanced accuracy, false abstention (abstained on a question labelled
1), false abstention over all answerable questions (label 1 or not), and abstention recall on the
unanswerable questions. The model written to ``rag/abstain_model.json`` is then fitted on all corpora;
its figures on them are in-sample and labelled so. ``--features FILE`` keeps the collected features
(collecting means retrieving every question), ``--from-features FILE`` refits from them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from eval.gold import load_gold, source_matches
from eval.stores import build_store, eval_settings
from rag.abstain import _MODEL, FEATURES
from rag.config import Settings
from rag.engine import QueryEngine

C = 1.0


def collect(corpus: Path, qa_files: list[Path], base: Settings) -> list[dict[str, Any]]:
    """One row per gold question of one corpus: id, kind, label, features."""
    settings = eval_settings(corpus, base)
    build_store(corpus, settings)
    engine = QueryEngine(settings)
    rows = []
    for qa in qa_files:
        for item in load_gold(qa):
            got = engine.retriever.retrieve(item.question, k=settings.top_k)
            found = any(source_matches(p, g) for h in got.hits for p in (h.chunk.paths or (h.chunk.source,))
                        for g in item.sources)
            rows.append({"corpus": str(corpus), "id": item.id, "kind": item.kind, "answerable": item.answerable,
                         "label": int(item.answerable and found),
                         "x": engine.signals(item.question, got).vector()})
    return rows


def corpus_weights(origin: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample weights under which every corpus counts alike, and within it both labels count alike.

    A corpus is the unit a model must generalise over (a new organisation), so a gold set with many
    questions must not set the scale for the others: pooled and class-balanced, the threadset's 303
    questions were 83% of the data/ fold's training rows, and its lexical signals are saturated by how its
    questions were made (each is an opener's own words)."""
    w = np.zeros(len(y), dtype=float)
    for c in dict.fromkeys(origin):
        for label in (0, 1):
            cell = (origin == c) & (y == label)
            if cell.any():
                w[cell] = 1.0 / cell.sum()
    return w * len(y) / w.sum()


def fit(x: np.ndarray, y: np.ndarray, origin: np.ndarray) -> Any:
    """The logistic regression used for every fold and for the final model (weights: :func:`corpus_weights`)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000).fit(x, y, sample_weight=corpus_weights(origin, y))


def scores(rows: list[dict[str, Any]], answered: np.ndarray) -> dict[str, float | int]:
    """Abstention figures of one set of questions, given which ones were answered."""
    y = np.array([r["label"] for r in rows])
    answerable = np.array([r["answerable"] for r in rows])
    abstained = ~answered
    pos, neg = y == 1, y == 0
    tpr = float(answered[pos].mean()) if pos.any() else 1.0
    tnr = float(abstained[neg].mean()) if neg.any() else 1.0
    return {
        "questions": len(rows), "label_1": int(pos.sum()), "label_0": int(neg.sum()),
        "unanswerable": int((~answerable).sum()),
        "balanced_accuracy": round((tpr + tnr) / 2, 3),
        "false_abstention": round(1 - tpr, 3),
        "false_abstention_all_answerable": round(float(abstained[answerable].mean()), 3) if answerable.any() else 0.0,
        "abstain_recall_label_0": round(tnr, 3),
        "abstain_recall_unanswerable": round(float(abstained[~answerable].mean()), 3) if (~answerable).any() else 1.0,
        "abstain_precision": round(float(neg[abstained].mean()), 3) if abstained.any() else 1.0,
        # +1 answered and right, -1 answered and wrong, 0 abstained (CRAG-style, on the labels above)
        "utility": round(float(np.where(answered, np.where(pos, 1, -1), 0).mean()), 3),
    }


def calibrate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Leave-one-corpus-out folds, then the final model on everything (its figures in-sample)."""
    corpora = list(dict.fromkeys(r["corpus"] for r in rows))
    x = np.array([r["x"] for r in rows], dtype=float)
    y = np.array([r["label"] for r in rows])
    origin = np.array([r["corpus"] for r in rows])
    folds = {}
    for held in corpora:
        train, test = origin != held, origin == held
        model = fit(x[train], y[train], origin[train])
        answered = model.predict_proba(x[test])[:, 1] >= 0.5
        folds[held] = {"trained_on": [c for c in corpora if c != held],
                       **scores([r for r, t in zip(rows, test, strict=True) if t], answered)}
    final = fit(x, y, origin)
    answered = final.predict_proba(x)[:, 1] >= 0.5
    in_sample = {c: scores([r for r in rows if r["corpus"] == c], answered[origin == c]) for c in corpora}
    return {"features": FEATURES, "weights": [round(float(w), 4) for w in final.coef_[0]],
            "bias": round(float(final.intercept_[0]), 4), "threshold": 0.5,
            "model": f"logistic regression, each corpus and label alike (corpus_weights), C={C}",
            "leave_one_corpus_out": folds, "in_sample": in_sample}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--set", nargs=2, action="append", metavar=("CORPUS", "QA[,QA...]"))
    ap.add_argument("--features", type=Path, help="write the collected features here (JSON)")
    ap.add_argument("--from-features", type=Path, help="refit from features written by --features")
    ap.add_argument("--write", action="store_true", help="write rag/abstain_model.json")
    args = ap.parse_args()
    if args.from_features:
        rows = json.loads(args.from_features.read_text())
    else:
        if not args.set:
            ap.error("give --set CORPUS QA (two or more) or --from-features")
        base = Settings()
        rows = [r for c, q in args.set for r in collect(Path(c), [Path(p) for p in q.split(",")], base)]
        if args.features:
            args.features.write_text(json.dumps(rows))
    params = calibrate(rows)
    params["gold"] = sorted({f"{r['corpus']}" for r in rows})
    print(json.dumps(params, indent=2))
    if args.write:
        _MODEL.write_text(json.dumps(params, indent=2) + "\n")


if __name__ == "__main__":
    main()

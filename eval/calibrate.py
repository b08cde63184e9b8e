"""Calibrate the abstention model on gold sets, with held-out folds.

    python -m eval.calibrate --set data data/qa.jsonl --set ../shared/devset/corpus ../shared/devset/qa.jsonl

Label: 1 when answering would be right - the question is answerable AND a gold source is among the
retrieved documents; 0 otherwise (unanswerable, or the evidence is not there). An unweighted logistic
regression (so its output is a calibrated probability: answering when P(right) > 0.5 maximises the
expected CRAG score, +1 right / -1 wrong / 0 abstained; C=10 was picked from {0.3, 1, 3, 10} x
{balanced, unweighted} by this same cross-validation, so the held-out figures are mildly optimistic)
over :class:`rag.abstain.Signals` is scored by stratified k-fold cross-validation (every question is
predicted by a model that never saw it), then refit on everything and written to
``rag/abstain_model.json``. The held-out figures are printed and belong in the README.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from eval.stores import build_store, eval_settings
from rag.abstain import _MODEL, FEATURES
from rag.config import Settings
from rag.engine import QueryEngine


def _matches(paths: tuple[str, ...], gold: list[str]) -> bool:
    return any(p == g or p.startswith(g + "#") for g in gold for p in paths)


def collect(corpus: Path, qa: Path, base: Settings) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features, labels, ids) for one gold set."""
    settings = eval_settings(corpus, base)
    build_store(corpus, settings)
    engine = QueryEngine(settings)
    xs, ys, ids = [], [], []
    for line in qa.read_text().splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        got = engine.retriever.retrieve(item["question"], k=settings.top_k)
        found = any(_matches(h.chunk.paths or (h.chunk.source,), item["sources"]) for h in got.hits)
        xs.append(engine.signals(item["question"], got).vector())
        ys.append(1 if item["kind"] != "unanswerable" and found else 0)
        ids.append(item["id"])
    return np.array(xs), np.array(ys), ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", nargs=2, action="append", metavar=("CORPUS", "QA"), required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--write", action="store_true", help="write rag/abstain_model.json")
    args = ap.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    base = Settings()
    parts = [collect(Path(c), Path(q), base) for c, q in args.set]
    x = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    origin = np.concatenate([[i] * len(p[1]) for i, p in enumerate(parts)])
    pred = np.zeros(len(y))
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=0)
    for train, test in folds.split(x, y):
        model = LogisticRegression(C=10.0, max_iter=1000).fit(x[train], y[train])
        pred[test] = model.predict_proba(x[test])[:, 1]
    report = {}
    for name, mask in [("all", np.ones(len(y), bool))] + [(args.set[i][0], origin == i) for i in range(len(parts))]:
        p, t = pred[mask] >= 0.5, y[mask]
        abstain_ok = int(((~p) & (t == 0)).sum())
        report[name] = {
            "questions": int(mask.sum()), "should_abstain": int((t == 0).sum()),
            "held_out_accuracy": round(float((p == (t == 1)).mean()), 3),
            "abstain_precision": round(abstain_ok / max(int((~p).sum()), 1), 3),
            "abstain_recall": round(abstain_ok / max(int((t == 0).sum()), 1), 3),
            # +1 answered and right, -1 answered and wrong, 0 abstained (CRAG-style, on the labels above)
            "held_out_utility": round(float(np.where(p, np.where(t == 1, 1, -1), 0).mean()), 3),
        }
    final = LogisticRegression(C=10.0, max_iter=1000).fit(x, y)
    params = {"features": FEATURES, "weights": [round(float(w), 4) for w in final.coef_[0]],
              "bias": round(float(final.intercept_[0]), 4), "threshold": 0.5,
              "cross_validated": report, "folds": args.folds,
              "trained_on": [q for _, q in args.set]}
    print(json.dumps(params, indent=2))
    if args.write:
        _MODEL.write_text(json.dumps(params, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""report.md and PNG charts from an evaluation run."""

from __future__ import annotations

from pathlib import Path

from eval.harness import FAMILIES, EvalReport


def _fmt(v: object) -> str:
    return f"{v:.3f}" if isinstance(v, float) else ("-" if v is None else str(v))


def write_report(report: EvalReport, out: Path) -> list[Path]:
    """Write report.md, report.json and charts into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "report.md", out / "report.json"]
    (out / "report.json").write_text(report.model_dump_json(indent=2))
    lines = [f"# whoknows evaluation: {report.questions} questions", "",
             f"Corpus `{report.corpus}`, gold set `{report.qa}`.", "",
             "## Retrieval, side by side (documents)", "", "| system | " + " | ".join(FAMILIES["retrieval"]) + " |",
             "|---|" + "---|" * len(FAMILIES["retrieval"])]
    systems = {"whoknows (hybrid)": report.metrics["retrieval"],
               **{k: v["retrieval"] for k, v in report.baselines.items()}}
    for name, vals in systems.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(vals.get(n)) for n in FAMILIES["retrieval"]) + " |")
    for fam in ("citations", "answers", "experts", "abstention", "latency_ms"):
        vals = report.metrics.get(fam, {})
        lines += ["", f"## {fam}", "", "| metric | all | " + " | ".join(report.by_kind) + " |",
                  "|---|---|" + "---|" * len(report.by_kind)]
        for name, v in vals.items():
            per = [report.by_kind[k].get(fam, {}).get(name) for k in report.by_kind]
            lines.append(f"| {name} | {_fmt(v)} | " + " | ".join(_fmt(x) for x in per) + " |")
    worst = sorted(report.per_question, key=lambda r: (r.scores.get("crag") or 0, r.scores.get("mrr") or 0))[:10]
    lines += ["", "## Worst 10 questions", ""]
    gold_by_id = {}
    for r in worst:
        gold_by_id[r.id] = r
        top = ", ".join(p[0] for p in r.retrieved[:3])
        lines += [f"- **{r.id}** ({r.kind}) {r.question}",
                  f"  - abstained: {r.abstained}, confidence {r.confidence:.2f}, CRAG {_fmt(r.scores.get('crag'))}, "
                  f"MRR {_fmt(r.scores.get('mrr'))}",
                  f"  - retrieved: {top or '(nothing)'}", f"  - experts: {', '.join(r.experts[:3]) or '-'}"]
    lines += ["", "![retrieval by system](retrieval_by_system.png)", "", "![metrics by kind](metrics_by_kind.png)", ""]
    (out / "report.md").write_text("\n".join(lines))
    files += _charts(report, out)
    return files


def _charts(report: EvalReport, out: Path) -> list[Path]:
    names = FAMILIES["retrieval"]
    systems = {"whoknows": report.metrics["retrieval"], **{k: v["retrieval"] for k, v in report.baselines.items()}}
    picks = [("retrieval", "mrr"), ("citations", "citation_precision"), ("answers", "evidence_hit"),
             ("experts", "expert_p@1"), ("abstention", "crag_score")]
    by_kind = {k: [report.by_kind[k].get(f, {}).get(n) or 0 for f, n in picks] for k in report.by_kind}
    return [
        _grouped_bars(out / "retrieval_by_system.png", "Retrieval by system", names,
                      {sys_name: [vals.get(n) or 0 for n in names] for sys_name, vals in systems.items()},
                      size=(8, 4), ylim=(0, 1)),
        _grouped_bars(out / "metrics_by_kind.png", "Metrics by question kind", [n for _, n in picks], by_kind,
                      size=(9, 4), ylim=(-1, 1)),  # CRAG runs from -1 to 1
    ]


def _grouped_bars(path: Path, title: str, labels: list[str], series: dict[str, list[float]], *,
                  size: tuple[float, float], ylim: tuple[float, float]) -> Path:
    """One PNG of grouped bars: a group per label, a bar per series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=size)
    width = 0.8 / max(len(series), 1)
    for i, (name, heights) in enumerate(series.items()):
        ax.bar(np.arange(len(labels)) + i * width, heights, width, label=name)
    ax.set_xticks(np.arange(len(labels)) + width * (len(series) - 1) / 2, labels)
    ax.set_ylim(*ylim)
    if ylim[0] < 0:
        ax.axhline(0, color="black", linewidth=0.5)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

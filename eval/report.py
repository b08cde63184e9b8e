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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    written = []
    names = FAMILIES["retrieval"]
    systems = {"whoknows": report.metrics["retrieval"], **{k: v["retrieval"] for k, v in report.baselines.items()}}
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(systems)
    for i, (sys_name, vals) in enumerate(systems.items()):
        ax.bar(np.arange(len(names)) + i * width, [vals.get(n) or 0 for n in names], width, label=sys_name)
    ax.set_xticks(np.arange(len(names)) + width * (len(systems) - 1) / 2, names)
    ax.set_ylim(0, 1)
    ax.set_title("Retrieval by system")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "retrieval_by_system.png", dpi=110)
    plt.close(fig)
    written.append(out / "retrieval_by_system.png")
    picks = [("retrieval", "mrr"), ("citations", "citation_precision"), ("answers", "evidence_hit"),
             ("experts", "expert_p@1"), ("abstention", "crag_score")]
    kinds = list(report.by_kind)
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(len(kinds), 1)
    for i, k in enumerate(kinds):
        heights = [report.by_kind[k].get(f, {}).get(n) or 0 for f, n in picks]
        ax.bar(np.arange(len(picks)) + i * width, heights, width, label=k)
    ax.set_xticks(np.arange(len(picks)) + width * (len(kinds) - 1) / 2, [n for _, n in picks])
    ax.set_ylim(-1, 1)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_title("Metrics by question kind")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "metrics_by_kind.png", dpi=110)
    plt.close(fig)
    written.append(out / "metrics_by_kind.png")
    return written

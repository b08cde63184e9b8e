"""The gap report as Markdown (``gaps.md``) and PNG charts: unanswered topics by volume, questions over time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from rag.types import GapReport, SourceRef, UnansweredTopic

TOPICS_PNG = "topics.png"
TREND_PNG = "trend.png"
CHART_TOPICS = 10


def write_report(report: GapReport, out: Path, *, command: str | None = None) -> list[Path]:
    """Write ``gaps.md`` and the charts into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = _charts(report, out)
    md = out / "gaps.md"
    md.write_text(render_markdown(report, charts=[p.name for p in written], command=command), encoding="utf-8")
    return [md, *written]


def render_markdown(report: GapReport, *, charts: list[str] | None = None, command: str | None = None) -> str:
    """The whole report as Markdown; ``charts`` are image files beside it to link."""
    lines = ["# Knowledge gaps", "", _summary(report), ""]
    if command:
        lines += [f"Produced by `{command}`.", ""]
    for section in (_unanswered, _chat, _single, _stale):
        lines += section(report)
    if charts:
        lines += ["## Charts", ""] + [f"![{c.removesuffix('.png')}]({c})" for c in charts] + [""]
    return "\n".join(lines)


def _summary(r: GapReport) -> str:
    if not r.log_enabled:
        return "The query log is off (`WHOKNOWS_QUERY_LOG=off`): nothing was recorded, so there is nothing to report."
    window = f"since {_day(r.since)}" if r.since else "whole log"
    return (f"{r.questions} questions from {r.askers} people ({window}, generated {_day(r.generated_at)}); "
            f"**{r.unanswered} unanswered** - abstained, answered with confidence below "
            f"{r.low_confidence_below:.2f}, or marked not helpful.")


def _unanswered(r: GapReport) -> list[str]:
    out = ["## Unanswered topics", ""]
    if not r.unanswered_topics:
        return out + ["No unanswered questions in this window.", ""]
    out += ["| Topic | Asked | People | Abstained / low confidence / not helpful | First - last asked "
            "| Closest colleagues |", "|---|---:|---:|---|---|---|"]
    for t in r.unanswered_topics:
        who = ", ".join(f"{c.name}" + (f" ({c.team})" if c.team else "") for c in t.colleagues) or "-"
        out.append(f"| {_cell(t.label)} | {t.count} | {len(t.askers)} | {t.abstained} / {t.low_confidence} / "
                   f"{t.thumbs_down} | {_day(t.first_asked)} - {_day(t.last_asked)} | {_cell(who)} |")
    out.append("")
    for t in r.unanswered_topics:
        if t.count < 2:
            continue  # one-off questions are in the table; the detail is for what keeps coming back
        out += [f"### {t.label}", "", f"Asked {_times(t.count)} by {', '.join(t.askers) or 'anonymous askers'}.", ""]
        out += [f"- \"{q.question}\" - {q.asker or 'anonymous'}, {_day(q.asked_at)} ({q.reason})" for q in t.questions]
        out.append("")
    return out


def _chat(r: GapReport) -> list[str]:
    out = ["## Knowledge only in chat", "",
           "Topics answered from Slack or e-mail threads and from no wiki page or retro - worth writing down.", ""]
    if not r.only_in_chat:
        return out + ["None in this window.", ""]
    for t in r.only_in_chat:
        pages = (f"; answered from pages {_times(t.answers_citing_pages)} more" if t.answers_citing_pages else "")
        out += [f"### {t.label}", "",
                f"Answered from threads alone {_times(t.count)} for {', '.join(t.askers) or 'anonymous askers'} "
                f"({_day(t.first_asked)} - {_day(t.last_asked)}){pages}.", ""]
        out += [f"- \"{q.question}\" - {q.asker or 'anonymous'}, {_day(q.asked_at)}" for q in t.questions]
        out += ["", "Threads:"] + [f"- {_ref(d)}" for d in t.threads] + [""]
    return out


def _single(r: GapReport) -> list[str]:
    sp = r.single_points
    out = ["## Single points of knowledge", ""]
    if not (sp.topics or sp.documents or sp.inactive):
        return out + ["None in this window.", ""]
    if sp.inactive:
        out += ["### People who have left but are still the only source", ""]
        for h in sp.inactive:
            team = f" ({h.team})" if h.team else ""
            topics = f"; topics: {', '.join(h.topics)}" if h.topics else ""
            out.append(f"- **{h.person}**{team} - cited {_times(h.citations)} as the only source of: "
                       + "; ".join(f"\"{_short(d.title)}\"" for d in h.documents) + topics)
        out.append("")
    if sp.topics:
        out += ["### Topics answered from one person's knowledge", "",
                "| Topic | Person | Asked | People | Documents |", "|---|---|---:|---:|---|"]
        out += [f"| {_cell(t.label)} | {t.person}{_left(t.active)} | {t.count} | {len(t.askers)} | "
                f"{_cell('; '.join(_short(d.title, 50) for d in t.documents))} |" for t in sp.topics]
        out.append("")
    if sp.documents:
        out += ["### Documents written by one person", "",
                "| Document | Kind | Person | Cited | People |", "|---|---|---|---:|---:|"]
        out += [f"| {_cell(_short(d.document.title))} | {d.document.kind} | {d.person}{_left(d.active)} | "
                f"{d.document.citations} | {d.document.askers} |" for d in sp.documents]
        out.append("")
    return out


def _stale(r: GapReport) -> list[str]:
    out = ["## Stale but relied on", "",
           f"Documents older than {r.stale_after_days} days that answers still cite.", ""]
    if not r.stale:
        return out + ["None in this window.", ""]
    out += ["| Document | Kind | Dated | Age (days) | Cited | People | Last cited | Authors |",
            "|---|---|---|---:|---:|---:|---|---|"]
    out += [f"| {_cell(_short(s.document.title))} | {s.document.kind} | {(s.document.date or '')[:10]} | "
            f"{s.age_days} | {s.document.citations} | {s.document.askers} | {_day(s.document.last_cited)} | "
            f"{_cell(', '.join(s.document.authors))} |" for s in r.stale]
    return out + [""]


def _charts(r: GapReport, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    written = []
    if r.unanswered_topics:
        written.append(_topics_chart(list(r.unanswered_topics[:CHART_TOPICS]), out / TOPICS_PNG))
    if r.trend:
        written.append(_trend_chart(r, out / TREND_PNG))
    return written


def _topics_chart(topics: list[UnansweredTopic], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.5 * len(topics) + 1.5))
    labels = [_short(t.label, 40) for t in reversed(topics)]
    left = [0] * len(topics)
    for name, attr, color in (("abstained", "abstained", "tab:red"), ("low confidence", "low_confidence", "tab:orange"),
                              ("not helpful", "thumbs_down", "tab:purple")):
        vals = [getattr(t, attr) for t in reversed(topics)]
        ax.barh(labels, vals, left=left, color=color, label=name)
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.set_xlabel("questions")
    ax.set_title("Unanswered topics by volume")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _trend_chart(r: GapReport, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    weeks = np.array([p.week for p in r.trend], dtype="datetime64[D]")
    ax.plot(weeks, [p.asked for p in r.trend], marker="o", label="asked")
    ax.plot(weeks, [p.unanswered for p in r.trend], marker="o", color="tab:red", label="unanswered")
    ax.set_ylabel("questions per week")
    ax.set_title("Questions over time")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _ref(d: SourceRef) -> str:
    who = ", ".join(d.authors) or "unknown"
    return f"\"{_short(d.title)}\" (`{d.source}`, {d.date or 'undated'}) - {who}; cited {_times(d.citations)}"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _day(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d") if when else "-"


def _left(active: bool | None) -> str:
    return " (has left)" if active is False else ""


def _short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")

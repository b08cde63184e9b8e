"""A codification draft as a Markdown page: YAML front matter (``kind: wiki``, ``status: draft``), the
question, the answer as attributed quotes with links back, the steps in order, and what to confirm."""

from __future__ import annotations

from datetime import date

import yaml

from rag.codify.types import CodifyDraft, DraftQuote

# The banner every draft opens with. Chunks do not carry front matter, so this line is what marks an
# ingested page as an unreviewed draft (``is_draft``); the reviewer deletes it with ``status: reviewed``.
DRAFT_MARK = "**Draft** written by `whoknows codify`"


def is_draft(text: str) -> bool:
    """Whether a page's text still carries the draft banner."""
    return DRAFT_MARK in text


def render(draft: CodifyDraft, *, today: date | None = None) -> str:
    """The whole page; ``today`` dates it (defaults to the current date)."""
    front = {"title": draft.title, "kind": "wiki", "status": "draft", "authors": list(draft.authors),
             "sources": [s.source for s in draft.sources], "date": (today or date.today()).isoformat(),
             "tags": ["draft", "codified-from-chat"]}
    lines = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000).strip(), "---",
             f"# {draft.title}", "",
             f"> {DRAFT_MARK} from chat threads. The people in `authors` should check it, settle the *To "
             "confirm* list, set `status: reviewed` and delete this line.", ""]
    lines += ["## The question", ""]
    lines += [_blockquote(q) for q in draft.question] or ["(The threads open with a post, not a question.)"]
    if draft.asked:
        lines += ["", "Asked of whoknows as:", ""] + [f"- \"{_one_line(q)}\"" for q in draft.asked]
    lines += ["", "## The answer", ""]
    for q in draft.answer:
        if q.context is not None:
            lines.append(f"In reply to {q.context.author}: \"{_one_line(q.context.text)}\"")
            lines.append("")
        lines += [_blockquote(q), ""]
    if draft.steps:
        lines += ["## Steps", ""]
        lines += [f"{s.n}. {s.text} ({s.author}, [message]({s.link}))" for s in draft.steps]
        lines.append("")
    lines += ["## To confirm", ""]
    lines += [f"- [ ] {c}" for c in draft.to_confirm] or ["- [ ] Nothing flagged: check the steps still work."]
    lines += ["", "## Sources", ""]
    lines += [f"- {s.title} ({s.channel and '#' + s.channel.lstrip('#') + ', ' or ''}{s.date or 'undated'}) - "
              f"`{s.source}`" for s in draft.sources]
    return "\n".join(lines) + "\n"


def _blockquote(q: DraftQuote) -> str:
    body = "\n".join("> " + line if line.strip() else ">" for line in q.text.splitlines())
    when = f", {q.ts[:10]}" if q.ts else ""
    return f"{body}\n>\n> - {q.author}{when} ([message]({q.link}))"


def _one_line(text: str) -> str:
    return " ".join(text.split())

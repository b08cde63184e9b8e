"""Obsidian vaults (a folder holding ``.obsidian/``): a note's title is its file name, ``[[wikilinks]]`` read as
their words, embeds (``![[...]]``) are dropped, and ``> [!type] Title`` callouts read as "Type: Title"."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.context import LoadContext, decode_text, printable
from ingest.loaders.files import build_document, split_front_matter
from rag.errors import ParseError
from rag.types import Document

_EMBED = re.compile(r"!\[\[[^\]]*\]\]")
_LINK = re.compile(r"\[\[([^\]|#]*)(?:#([^\]|]*))?(?:\|([^\]]*))?\]\]")
_CALLOUT = re.compile(r"^(\s*>\s*)\[!(\w+)\][+-]?\s*(.*)$", re.MULTILINE)


def _link(m: re.Match[str]) -> str:
    page, heading, alias = m.group(1), m.group(2), m.group(3)
    if alias:
        return alias
    return f"{page} ({heading})" if page and heading else page or heading or ""


def obsidian_text(text: str) -> str:
    """Obsidian Markdown as plain Markdown."""
    text = _EMBED.sub("", text)
    text = _LINK.sub(_link, text)
    return _CALLOUT.sub(lambda m: f"{m.group(1)}{m.group(2).capitalize()}: {m.group(3)}".rstrip(), text)


def load_obsidian(ctx: LoadContext, file: Path) -> Document:
    """One note of a vault."""
    rel = ctx.rel(file)
    front, body, offset = split_front_matter(decode_text(file.read_bytes(), rel), rel)
    body = obsidian_text(body)
    if not body.strip():
        raise ParseError(f"{rel}: no text after the front matter")
    title = str(front.get("title") or printable(file.stem))
    return build_document(ctx, file, fmt="obsidian", title=title, body=body, front=front, inline_authors=[],
                          body_line_offset=offset)

"""Template markup of wiki exports, removed before a page is chunked.

Static-site and wiki sources carry their generator's markup: Liquid (Jekyll, Shopify) tags ``{% ... %}`` and
outputs ``{{ page.title }}``, ERB (Middleman, Rails) ``<%= current_page.data.title %>``, and front matter
that a loader did not parse (a TOML ``+++`` block, or YAML in an HTML or text export). Left in, their words
(``endif``, ``current_page``, ``layout``) are indexed and quoted as if someone had written them.

Markup inside code - fenced blocks and inline backticks - is content (a runbook that documents a dbt macro
or an alert template) and is kept as written. Removed markup keeps its line breaks, so line numbers (and
with them ``git blame`` authorship) stay aligned.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"(^[ \t]*(```|~~~).*?(?:^[ \t]*\2[^\n]*$|\Z)|`[^`\n]+`)", re.MULTILINE | re.DOTALL)
_LIQUID_COMMENT = re.compile(r"\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}", re.DOTALL)
_LIQUID_TAG = re.compile(r"\{%.*?%\}", re.DOTALL)
_LIQUID_OUTPUT = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_ERB = re.compile(r"<%.*?%>", re.DOTALL)
_FRONT = re.compile(r"\A\s*(---|\+\+\+)[ \t]*\n(.*?)\n[ \t]*\1[ \t]*(?:\n|\Z)", re.DOTALL)
_KEY_LINE = re.compile(r"^\s*(?:[\w.-]+\s*[:=].*|-\s.*|#.*|)$")


def _blank(match: re.Match[str]) -> str:
    """The match replaced by its line breaks only."""
    return "\n" * match.group(0).count("\n")


def _strip_prose(text: str) -> str:
    text = _LIQUID_COMMENT.sub(_blank, text)
    text = _LIQUID_TAG.sub(_blank, text)
    text = _LIQUID_OUTPUT.sub(_blank, text)
    return _ERB.sub(_blank, text)


def strip_front_matter(text: str) -> str:
    """A leading ``---`` (YAML) or ``+++`` (TOML) block of ``key: value`` lines, blanked."""
    m = _FRONT.match(text)
    if not m or not all(_KEY_LINE.match(line) for line in m.group(2).splitlines()):
        return text
    return _blank(m) + text[m.end():]


def strip_template_markup(text: str) -> str:
    """``text`` without Liquid, ERB and unparsed front matter; code spans and blocks are left as they are."""
    if not any(mark in text for mark in ("{%", "{{", "<%", "---", "+++")):
        return text
    text = strip_front_matter(text)
    out: list[str] = []
    last = 0
    for m in _CODE.finditer(text):
        out.append(_strip_prose(text[last:m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_strip_prose(text[last:]))
    return "".join(out)

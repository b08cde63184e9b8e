"""Confluence HTML export pages: the byline "Created by NAME, last modified by NAME on DATE" gives authors
and date; only ``#main-content`` is the page (breadcrumbs, navigation, attachments lists and the footer
are not content); the title drops its "Space : " prefix."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html import escape

_DATE = re.compile(r"\bon\s+([A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}|\d{1,2} [A-Z][a-z]{2,8}\.? \d{4}|\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class ConfluencePage:
    """What a Confluence export page says about itself, and its content as HTML."""

    title: str
    authors: tuple[str, ...]
    date: str | None
    html: str


def _date(text: str) -> str | None:
    m = _DATE.search(text)
    if not m:
        return None
    raw = m.group(1).replace(".", "")
    for fmt in ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(raw, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def confluence_page(raw: str) -> ConfluencePage | None:
    """The page's title, authors (creator first, then the last editor), date and content; None if not Confluence."""
    if 'id="main-content"' not in raw or ("page-metadata" not in raw and "title-heading" not in raw):
        return None
    from lxml import html as lh

    try:
        tree = lh.fromstring(raw)
    except Exception:  # noqa: BLE001 - not parseable as HTML: leave it to the generic reader
        return None
    main = tree.xpath('//*[@id="main-content"]')
    if not main:
        return None
    title_el = tree.xpath('//*[@id="title-text"]') or tree.xpath("//title")
    title = " ".join(title_el[0].text_content().split()) if title_el else ""
    title = title.split(" : ", 1)[1] if " : " in title else title
    meta = tree.xpath('//*[contains(concat(" ", normalize-space(@class), " "), " page-metadata ")]')
    authors: list[str] = []
    date = None
    if meta:
        for cls in ("author", "editor"):
            for el in meta[0].xpath(f'.//*[contains(concat(" ", normalize-space(@class), " "), " {cls} ")]'):
                name = " ".join(el.text_content().split())
                if name and name not in authors:
                    authors.append(name)
        text = " ".join(meta[0].text_content().split())
        if not authors:  # "Created by Ann Lee, last modified on Mar 05, 2024" without spans
            m = re.search(r"Created by (.+?)(?:,| on |$)", text)
            authors = [m.group(1).strip()] if m else []
        date = _date(text)
    body = lh.tostring(main[0], encoding="unicode")
    heading = f"<h1>{escape(title)}</h1>" if title else ""
    return ConfluencePage(title=title, authors=tuple(authors), date=date,
                          html=f"<html><body>{heading}{body}</body></html>")

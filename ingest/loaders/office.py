"""Office and other document formats through unstructured, with the authors and dates their metadata hold.

PowerPoint (core properties), Excel (each sheet a table; workbook properties), EPUB (``dc:creator``),
OpenDocument text (``meta.xml``), RTF (``{\\info}``), Org, CSV/TSV (a table), Outlook ``.msg`` (an e-mail
of one message), XHTML, and wiki markup kept as text (Textile, MediaWiki, AsciiDoc).
"""

from __future__ import annotations

import email.utils
import re
import zipfile
from pathlib import Path

from ingest.context import LoadContext, decode_text, printable
from ingest.filetypes import page_title
from ingest.loaders.docmeta import day, split_names
from ingest.loaders.files import _configure_unstructured, _elements_to_markdown, build_document
from ingest.loaders.threads import thread_document
from rag.errors import ParseError
from rag.types import Document, Message

_TEXT_MARKUP = {".textile", ".mediawiki", ".wiki", ".adoc", ".asciidoc"}
_PANDOC = {".epub": "epub", ".odt": "odt", ".rtf": "rtf", ".org": "org"}
_DC = re.compile(r"<dc:(creator|title|date)\b[^>]*>(.*?)</dc:\1>", re.DOTALL | re.IGNORECASE)
_ODF_CREATOR = re.compile(r"<meta:initial-creator>(.*?)</meta:initial-creator>", re.DOTALL)
_RTF_INFO = re.compile(r"\{\\(author|title|creatim)\s*([^{}]*)\}")
_ORG_KEY = re.compile(r"^#\+(TITLE|AUTHOR|DATE):[ \t]*(.*)$", re.MULTILINE | re.IGNORECASE)
_RTF_YEAR = re.compile(r"\\yr(\d{4})\\mo(\d{1,2})\\dy(\d{1,2})")


def _table_rows(html: str) -> str:
    """An HTML table (unstructured's ``text_as_html``) as pipe-separated rows, one per line."""
    from lxml import html as lh

    try:
        tree = lh.fromstring(html)
    except Exception:  # noqa: BLE001 - malformed table markup: fall back to the element text
        return ""
    rows = []
    for tr in tree.iter("tr"):
        cells = [" ".join(td.text_content().split()) for td in tr if td.tag in ("td", "th")]
        if any(cells):
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _tables_to_markdown(elements: list) -> str:
    parts = []
    sheet = None
    for el in elements:
        name = getattr(el.metadata, "page_name", None)
        if name and name != sheet:
            parts.append(f"# {name}")
            sheet = name
        html = getattr(el.metadata, "text_as_html", None)
        parts.append(_table_rows(html) if html else (el.text or "").strip())
    return "\n\n".join(p for p in parts if p.strip())


def _zip_text(file: Path, suffix: str) -> str:
    with zipfile.ZipFile(file) as zf:
        name = next((n for n in zf.namelist() if n.endswith(suffix)), None)
        return zf.read(name).decode("utf-8", "replace") if name else ""


def _metadata(file: Path, ext: str) -> tuple[list[str], str, str | None]:
    """(authors, title, date) from the file's own properties; empty where it has none."""
    if ext == ".pptx":
        from pptx import Presentation

        p = Presentation(str(file)).core_properties
        return split_names(p.author), p.title or "", day(p.modified or p.created)
    if ext == ".xlsx":
        import openpyxl

        props = openpyxl.load_workbook(str(file), read_only=True).properties
        return split_names(props.creator), props.title or "", day(props.modified or props.created)
    if ext in (".epub", ".odt"):
        opf = _zip_text(file, ".opf" if ext == ".epub" else "meta.xml")
        found: dict[str, str] = {}
        authors = []
        for key, value in _DC.findall(opf):
            text = re.sub(r"<[^>]+>", "", value).strip()
            if key.lower() == "creator":
                authors.append(text)
            found.setdefault(key.lower(), text)
        if ext == ".odt":
            authors = [m.strip() for m in _ODF_CREATOR.findall(opf)] + authors
        return list(dict.fromkeys(a for a in authors if a)), found.get("title", ""), day(found.get("date"))
    if ext == ".rtf":
        head = file.read_bytes()[:20000].decode("latin-1")
        info = dict(_RTF_INFO.findall(head))
        ym = _RTF_YEAR.search(info.get("creatim", ""))
        date = f"{ym.group(1)}-{int(ym.group(2)):02d}-{int(ym.group(3)):02d}" if ym else None
        return split_names(info.get("author")), info.get("title", "").strip(), date
    if ext == ".org":
        keys = {k.upper(): v for k, v in _ORG_KEY.findall(file.read_bytes()[:8000].decode("utf-8", "replace"))}
        return split_names(keys.get("AUTHOR")), keys.get("TITLE", "").strip(), day(keys.get("DATE"))
    return [], "", None


def _partition(file: Path, ext: str, rel: str) -> tuple[list, bool]:
    """(elements, whether they are tables)."""
    if ext == ".pptx":
        from unstructured.partition.pptx import partition_pptx

        return partition_pptx(filename=str(file)), False
    if ext in (".xlsx", ".xls"):
        from unstructured.partition.xlsx import partition_xlsx

        return partition_xlsx(filename=str(file)), True
    if ext in (".csv", ".tsv"):
        from unstructured.partition.csv import partition_csv
        from unstructured.partition.tsv import partition_tsv

        fn = partition_csv if ext == ".csv" else partition_tsv
        return fn(filename=str(file)), True
    if ext in _PANDOC:
        import importlib

        mod = importlib.import_module(f"unstructured.partition.{_PANDOC[ext]}")
        return getattr(mod, f"partition_{_PANDOC[ext]}")(filename=str(file)), False
    if ext == ".xhtml":
        from unstructured.partition.html import partition_html

        return partition_html(text=decode_text(file.read_bytes(), rel)), False
    raise ParseError(f"{rel}: {ext} needs LibreOffice to convert, which whoknows does not use - save it as "
                     f"{'.docx' if ext == '.doc' else '.pptx'} and ingest again")


def load_office(ctx: LoadContext, file: Path) -> Document:
    """One office document as a page: text (tables as rows), authors and date from its properties."""
    _configure_unstructured()
    rel = ctx.rel(file)
    ext = file.suffix.lower()
    if ext == ".msg":
        return _load_msg(ctx, file, rel)
    if ext in _TEXT_MARKUP:
        return _load_markup(ctx, file, rel)
    try:
        elements, tables = _partition(file, ext, rel)
        authors, title, date = _metadata(file, ext)
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError(f"{rel}: cannot parse {ext} ({type(exc).__name__}: {str(exc)[:200]})") from exc
    if tables:
        first_title, body = page_title(printable(file.stem)), _tables_to_markdown(elements)
    else:
        first_title, body = _elements_to_markdown(elements)
    if not body.strip():
        raise ParseError(f"{rel}: no text found in the {ext} file")
    return build_document(ctx, file, fmt=ext.lstrip("."), title=title or first_title, body=body,
                          front={"date": date} if date else {}, inline_authors=authors)


_MW_HEADING = re.compile(r"^(={1,6})\s*(.+?)\s*\1\s*$", re.MULTILINE)
_MW_LINK = re.compile(r"\[\[(?:[^|\]]*\|)?([^\]]+)\]\]")
_MW_EXT = re.compile(r"\[(https?://\S+)\s+([^\]]+)\]")
_TEXTILE_HEADING = re.compile(r"^h([1-6])\.\s+(.+)$", re.MULTILINE)


def markup_to_text(text: str) -> str:
    """MediaWiki, Textile and AsciiDoc headings as '#' headings; links as their words; emphasis quotes gone."""
    text = _MW_HEADING.sub(lambda m: "#" * len(m.group(1)) + " " + m.group(2), text)
    text = _TEXTILE_HEADING.sub(lambda m: "#" * int(m.group(1)) + " " + m.group(2), text)
    text = re.sub(r"^(={1,6})\s+(.+)$", lambda m: "#" * len(m.group(1)) + " " + m.group(2), text, flags=re.MULTILINE)
    text = _MW_EXT.sub(r"\2 (\1)", _MW_LINK.sub(r"\1", text))
    return re.sub(r"'{2,5}", "", text)


def _load_markup(ctx: LoadContext, file: Path, rel: str) -> Document:
    from ingest.loaders.files import _HEADING

    body = markup_to_text(decode_text(file.read_bytes(), rel)).strip()
    if not body:
        raise ParseError(f"{rel}: empty file")
    m = _HEADING.search(body)
    title = m.group(1) if m else file.stem.replace("_", " ")
    return build_document(ctx, file, fmt=file.suffix.lower().lstrip("."), title=title, body=body, front={},
                          inline_authors=[])


def _load_msg(ctx: LoadContext, file: Path, rel: str) -> Document:
    """An Outlook message as a one-message e-mail thread, credited to its sender."""
    from oxmsg import Message as OxMessage

    try:
        msg = OxMessage.load(str(file))
        sender = msg.sender or ""
        body = msg.body or ""
        html = "" if body.strip() else (msg.html_body or "")
        subject = msg.subject or ""
        sent = msg.sent_date
    except Exception as exc:
        raise ParseError(f"{rel}: not a readable Outlook .msg ({type(exc).__name__}: {str(exc)[:200]})") from exc
    from ingest.loaders.mailtext import html_to_text, own_words

    name, addr = email.utils.parseaddr(sender)  # '"Ann Lee" <ann@x.org>': the name without its quotes
    who = ctx.people.canonical(f"{name} <{addr}>" if addr else name or sender) or "unknown"
    text = own_words(body if body.strip() else html_to_text(html))
    message = Message(author=who, text=text, ts=sent.isoformat(timespec="seconds") if sent else None)
    return thread_document(ctx, source=rel, title=subject, channel=file.parent.name or None, messages=[message],
                           fmt="email")

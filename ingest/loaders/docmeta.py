"""Authors, title and date that a PDF or DOCX file records about itself (PDF Info, DOCX core properties)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path


def split_names(value: str | None) -> list[str]:
    """'A; B and C' -> ['A', 'B', 'C']."""
    return [a.strip() for a in re.split(r",|;| and ", value or "") if a.strip()]


def day(value: object) -> str | None:
    """An ISO date from a datetime, a date or a string starting with one."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    m = re.match(r"\s*(\d{4}-\d{2}-\d{2})", str(value or ""))
    return m.group(1) if m else None


def pdf_info(file: Path) -> tuple[list[str], str, str | None]:
    """(authors, title, date) from the PDF's Info dictionary (``ModDate``, else ``CreationDate``)."""
    import pypdf

    try:
        meta: dict = dict(pypdf.PdfReader(str(file)).metadata or {})
    except Exception:  # noqa: BLE001 - metadata is a nicety; the text was already read
        return [], "", None
    title = str(meta.get("/Title") or "").strip()
    when = None
    for key in ("/ModDate", "/CreationDate"):
        m = re.match(r"D:(\d{4})(\d{2})(\d{2})", str(meta.get(key) or ""))
        if m:
            when = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
            break
    # Tools stamp their own name or the file name as the title; neither names the document.
    if title.lower().endswith((".pdf", ".doc", ".docx")) or title.lower() in ("untitled", "microsoft word"):
        title = ""
    return split_names(str(meta.get("/Author") or "")), title, when


def docx_core(file: Path) -> tuple[list[str], str, str | None]:
    """(authors, title, date last modified) from a DOCX's core properties."""
    import docx

    try:
        props = docx.Document(str(file)).core_properties
    except Exception:  # noqa: BLE001 - properties are a nicety
        return [], "", None
    return split_names(props.author), props.title or "", day(props.modified or props.created)

"""Which loader reads a unit of one file, by the kind discovery gave it (``ingest.discover``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.context import LoadContext, LoadResult
from ingest.loaders.chat import load_json
from ingest.loaders.files import load_markdown, load_with_unstructured
from ingest.loaders.mattermost import load_mattermost
from ingest.loaders.mediawiki import load_mediawiki
from ingest.loaders.obsidian import load_obsidian
from ingest.loaders.office import load_office
from ingest.loaders.whatsapp import load_whatsapp
from rag.types import Document

_PAGES: dict[str, Callable[[LoadContext, Path], Document]] = {
    "markdown": load_markdown, "unstructured": load_with_unstructured, "office": load_office,
    "obsidian": load_obsidian}
_MANY: dict[str, Callable[[LoadContext, Path], LoadResult]] = {
    "thread-json": load_json, "jsonl": load_mattermost, "whatsapp": load_whatsapp, "mediawiki": load_mediawiki}


def load_file(ctx: LoadContext, *, kind: str, file: Path) -> LoadResult:
    """Documents of a one-file unit (a page gives one; a chat export gives a document per thread or day)."""
    if kind in _PAGES:
        return LoadResult(documents=[_PAGES[kind](ctx, file)])
    return _MANY[kind](ctx, file)

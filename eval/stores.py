"""Stores for evaluation: one per corpus, reused while its content is unchanged (ingest is incremental)."""

from __future__ import annotations

from pathlib import Path

from ingest.pipeline import IngestSummary, ingest
from rag.config import Settings
from rag.types import stable_hash


def eval_settings(corpus: Path, base: Settings, cache_dir: Path | None = None) -> Settings:
    """Settings whose data dir is this corpus's evaluation store (under ``cache_dir``)."""
    root = cache_dir or Path.home() / ".cache" / "whoknows" / "eval"
    key = stable_hash(str(corpus.resolve()), base.embedder, str(base.chunk_tokens), length=12)
    name = f"{corpus.resolve().name}-{key}"
    # Evaluation questions are not real users' questions: keep them out of the gap report's log.
    update: dict[str, object] = {"data_dir": root / name, "query_log": "off"}
    if base.store == "postgres":  # one collection (schema) per corpus in the database, like one dir per corpus
        update.update(data_dir=root / f"{name}-pg", collection=f"eval-{name}")
    return base.model_copy(update=update)


def build_store(corpus: Path, settings: Settings) -> IngestSummary:
    """Ingest ``corpus`` into ``settings.data_dir``; unchanged content embeds nothing."""
    return ingest(corpus, settings)

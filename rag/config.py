"""One settings object for the whole product, read from ``WHOKNOWS_*`` environment variables.

Build it once (CLI callback, API lifespan, test fixture) and pass it down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every tunable of whoknows. Environment variables use the prefix ``WHOKNOWS_``."""

    model_config = SettingsConfigDict(env_prefix="WHOKNOWS_", extra="ignore")

    data_dir: Path = Field(default=Path(".whoknows"), description="Where the store, manifest and logs live.")
    store: Literal["chroma-embedded", "chroma-http"] = "chroma-embedded"
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8000
    collection: str = "whoknows"

    embedder: Literal["minilm", "hashing"] = Field(
        default="minilm",
        description="'minilm' is the packaged all-MiniLM-L6-v2; 'hashing' is a deterministic, model-free "
        "embedder for tests and smoke runs.",
    )
    embed_batch_size: int = 32
    chunk_tokens: int = 200
    chunk_overlap: int = 30

    # Retrieval
    top_k: int = 8
    candidates: int = 40
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    rrf_k: int = 60
    max_chunks_per_doc: int = 2

    # Answering
    generator: Literal["extractive", "openai", "llamacpp"] = "extractive"
    llm_base_url: str = "http://127.0.0.1:8080/v1"
    llm_model: str = "local"
    llm_api_key: str = "not-needed"
    llm_timeout_s: float = 60.0
    llm_model_path: Path | None = None
    max_answer_sentences: int = 4
    abstain_threshold: float | None = Field(
        default=None, description="Override the calibrated abstention threshold (0..1)."
    )

    # Ingestion
    default_access: str = "public"
    git_bulk_commit_files: int = Field(
        default=50, description="Commits touching more files than this are bulk (renames, reformat) and ignored."
    )

    query_log: Literal["on", "off"] = "on"

    @property
    def chroma_path(self) -> Path:
        """Directory of the embedded Chroma store."""
        return self.data_dir / "chroma"

    @property
    def manifest_path(self) -> Path:
        """SQLite file that records what was ingested, from where, with which content hash."""
        return self.data_dir / "manifest.sqlite"

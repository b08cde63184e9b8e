"""One settings object for the whole product, read from ``WHOKNOWS_*`` environment variables.

Build it once (CLI callback, API lifespan, test fixture) and pass it down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.threads.structure import DEFAULT_BOTS


class Settings(BaseSettings):
    """Every tunable of whoknows. Environment variables use the prefix ``WHOKNOWS_``."""

    model_config = SettingsConfigDict(env_prefix="WHOKNOWS_", extra="ignore")

    data_dir: Path = Field(default=Path(".whoknows"), description="Where the store, manifest and logs live.")
    store: Literal["chroma-embedded", "chroma-http", "postgres"] = Field(
        default="chroma-embedded",
        description="'chroma-embedded' keeps vectors in data_dir/chroma; 'chroma-http' uses a `chroma run` server "
        "at chroma_host:chroma_port (with either, the ingest ledger and query log are SQLite files in data_dir); "
        "'postgres' keeps chunks, BM25, the ledger, the query log and the people directory in the database at "
        "database_url (pip install 'whoknows[postgres]').",
    )
    database_url: str | None = Field(
        default=None, description="libpq URL of the PostgreSQL database (store='postgres'), e.g. "
        "postgresql://user:password@host:5432/dbname; the collection names the schema inside it.")
    pg_text_search: str = Field(
        default="whoknows", description="Text search of the Postgres BM25 (store='postgres'): 'whoknows' indexes "
        "whoknows' own tokens (the same BM25 as the embedded store); a Postgres configuration name (english, "
        "german, ...) uses that language's parser and stemmer. Change it with `whoknows db migrate`.")
    pg_vector_index: Literal["hnsw", "exact"] = Field(
        default="hnsw", description="Dense search of the Postgres store: 'hnsw' walks pgvector's HNSW index "
        "(approximate, fast at any size); 'exact' scans every row that passes the filters (exact, no index to "
        "build or hold; its cost grows with the collection - ~45 ms a scan at 10k chunks on 2 cores, BENCHMARKS.md "
        "- so for small collections, and for pgvector builds whose index code does not run on the server's CPU). "
        "Change it with `whoknows db migrate`.")
    chroma_host: str = Field(default="127.0.0.1", description="Chroma server host (store='chroma-http').")
    chroma_port: int = Field(default=8000, description="Chroma server port (store='chroma-http').")
    collection: str = Field(default="whoknows", description="Chroma collection (3-512 characters of [a-zA-Z0-9._-]).")

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
    fusion: str | None = Field(
        default=None, description="'METHOD[:WEIGHT]' (rrf, minmax, zscore, adaptive; WEIGHT = dense's share, 0..1). "
        "Unset: the weight `whoknows tune` chose for this corpus (data_dir/fusion.json), else the default.")
    rrf_k: int = 60
    bm25_title_boost: int = Field(
        default=1, description="BM25 counts a chunk's title and section path this many times (1: like body text).")
    max_chunks_per_doc: int = 2

    # Answering
    generator: Literal["extractive", "openai", "llamacpp"] = "extractive"
    llm_base_url: str = "http://127.0.0.1:8080/v1"
    llm_model: str = "local"
    llm_api_key: str = "not-needed"
    llm_timeout_s: float = 60.0
    llm_model_path: Path | None = None
    max_answer_sentences: int = 5
    max_thread_replies: int = Field(
        default=8, description="When a thread leads the answer, at most this many of its replies to the asker.")
    bots: tuple[str, ...] = Field(
        default=DEFAULT_BOTS, description="Authors that are bots: their messages are kept but never make anyone "
        "an expert (WHOKNOWS_BOTS takes a JSON list, e.g. '[\"ubotu\", \"jira\"]').")
    abstain_threshold: float | None = Field(
        default=None, description="Override the calibrated abstention threshold (0..1)."
    )

    # Ingestion
    default_access: str = "public"
    git_bulk_commit_files: int = Field(
        default=50, description="Commits touching more files than this are bulk (renames, reformat) and ignored."
    )
    max_file_bytes: int = Field(
        default=50_000_000, description="Files larger than this are skipped (reported), never read.")
    include: tuple[str, ...] = Field(
        default=(), description="Only files matching one of these globs are read (path from the corpus root, "
        "or a bare file-name glob such as '*.md'); the rest are reported as skipped. JSON list in the environment.")
    exclude: tuple[str, ...] = Field(
        default=(), description="Files matching one of these globs are skipped (reported), e.g. 'drafts/*'.")

    # Query log and the knowledge-gap report
    query_log: Literal["on", "off"] = Field(
        default="on", description="'off': questions, answers and feedback are not recorded at all.")
    query_log_path: Path | None = Field(
        default=None, description="SQLite query log [default <data_dir>/queries.sqlite].")
    gaps_low_confidence: float = Field(
        default=0.6, description="Answers below this confidence count as unanswered in the gap report.")
    gaps_cluster_distance: float = Field(
        default=0.6, description="Cosine distance under which questions join one topic (lower: finer topics).")
    gaps_min_repeats: int = Field(
        default=2, description="Times a topic or document must come up to be reported as chat-only or single-point.")
    gaps_stale_days: int = Field(default=365, description="Documents older than this many days are stale.")
    gaps_stale_min_citations: int = Field(
        default=3, description="Citations that make a stale document 'relied on'.")
    gaps_group: str = Field(
        default="knowledge-managers", description="With auth on, only members of this group may read GET /gaps "
        "(it shows who asked what; each reader sees only what their own groups may read).")

    # Access control and request limits (the HTTP API)
    auth: Literal["auto", "on", "off"] = Field(
        default="auto", description="'on': every endpoint but /health needs an API key; 'off': everything is "
        "public (and `serve` stays on loopback); 'auto': on when the users file exists.")
    users_file: Path | None = Field(default=None, description="Users and hashed API keys [default "
                                    "<data_dir>/users.yaml]; add users with `whoknows users add`.")
    rate_limit_per_minute: float = Field(default=120.0, description="Sustained requests per minute per key.")
    rate_limit_burst: int = Field(default=30, description="Requests a key may make at once before limiting.")
    max_body_bytes: int = 64 * 1024

    @property
    def chroma_path(self) -> Path:
        """Directory of the embedded Chroma store."""
        return self.data_dir / "chroma"

    @property
    def users_path(self) -> Path:
        """The users file: who may call the API, with which groups and key hashes."""
        return self.users_file or self.data_dir / "users.yaml"

    @property
    def memberships_path(self) -> Path:
        """Source-derived group memberships (Slack private channel members), written by ingest."""
        return self.data_dir / "memberships.json"

    @property
    def auth_enabled(self) -> bool:
        """Whether callers must present an API key (see ``auth``)."""
        return self.auth == "on" or (self.auth == "auto" and self.users_path.exists())

    @property
    def manifest_path(self) -> Path:
        """SQLite file that records what was ingested, from where, with which content hash."""
        return self.data_dir / "manifest.sqlite"

    @property
    def query_log_file(self) -> Path:
        """SQLite file of asked questions and feedback (see ``query_log``)."""
        return self.query_log_path or self.data_dir / "queries.sqlite"

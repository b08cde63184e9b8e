"""The Postgres schema of whoknows, created and migrated by whoknows itself.

Migrations are numbered and recorded in ``schema_migrations``; :func:`migrate` applies the missing ones in
one transaction under an advisory lock, so it is idempotent and safe when two processes start at once
(``whoknows db migrate`` runs it; so does every process that opens the store). The first migration needs
the embedding dimension (the vector column is ``vector(dim)``) and the text-search configuration.

Text search: the ``tsv`` column is *generated* from ``search_text``. With ``pg_text_search='whoknows'`` (the
default) ``search_text`` holds whoknows' own BM25 tokens (:func:`rag.bm25.bm25_tokens`, made parser-safe by
:func:`encode_token`) under Postgres' ``simple`` configuration, so lexical scores equal the embedded store's
BM25 exactly; any other value names a Postgres configuration (``english``, ``german``, ...) applied to the
raw passage text, for corpora in other languages.

Dense search: ``vector_index='hnsw'`` (the default) keeps pgvector's HNSW index ``chunks_embedding``;
``'exact'`` keeps none, and every search scans the rows that pass its filters over a stored half-precision
copy of the vectors, the generated column ``embedding_half`` (see
:meth:`rag.stores.postgres.PostgresStore.search`). Like the text search, the choice is recorded in ``meta`` and
changed by ``whoknows db migrate``, which builds or drops the index and the column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rag.errors import BackendUnavailable, ConfigError, EmbeddingMismatch, StoreError
from rag.stores.pg import Database, lock_key, quote_ident

OURS = "whoknows"
_SAFE = re.compile(r"[^a-z0-9]")
_ESCAPES = {"'": "zq", "-": "zh", "_": "zu"}


def encode_token(token: str) -> str:
    """A BM25 token as one word of Postgres' parser (which would split ``on-call`` into three)."""
    if not _SAFE.search(token):
        return token.replace("z", "zz") if "z" in token else token
    return "".join(_ESCAPES.get(ch, "zx") if _SAFE.match(ch) else ("zz" if ch == "z" else ch) for ch in token)


def text_config(text_search: str) -> str:
    """The Postgres text-search configuration the ``tsv`` column is built with."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", text_search):
        raise ConfigError(f"WHOKNOWS_PG_TEXT_SEARCH {text_search!r} is not a text search configuration name - use "
                          "'whoknows' or one of `SELECT cfgname FROM pg_ts_config` (english, german, simple, ...).")
    return "simple" if text_search == OURS else text_search


def _v1(s: str, *, dim: int, cfg: str) -> list[str]:
    tsv = f"to_tsvector('{cfg}'::regconfig, search_text)"
    return [
        f"CREATE TABLE {s}.meta (key text PRIMARY KEY, value text NOT NULL)",
        f"CREATE SEQUENCE {s}.revision",
        # Tokens counted from positions: the BM25 document length (a generated column needs an IMMUTABLE call).
        f"CREATE FUNCTION {s}.tsv_length(tsvector) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS "
        "$$ SELECT coalesce(sum(coalesce(cardinality(positions), 1)), 0)::integer FROM unnest($1) $$",
        # The whole chunk is kept as JSON (it round-trips exactly, whatever fields Chunk gains); what searches
        # filter or rank on is in columns of its own.
        f"""CREATE TABLE {s}.chunks (
            chunk_id text PRIMARY KEY, doc_id text NOT NULL, idx integer NOT NULL, chunk jsonb NOT NULL,
            kind text NOT NULL, channel text NOT NULL DEFAULT '', date_ord integer NOT NULL DEFAULT 0,
            access text[] NOT NULL, search_text text NOT NULL, embedding vector({dim}) NOT NULL,
            tsv tsvector GENERATED ALWAYS AS ({tsv}) STORED,
            doc_len integer GENERATED ALWAYS AS ({s}.tsv_length({tsv})) STORED)""",
        f"CREATE INDEX chunks_doc ON {s}.chunks (doc_id, idx)",
        f"CREATE INDEX chunks_embedding ON {s}.chunks USING hnsw (embedding vector_cosine_ops)",
        f"CREATE INDEX chunks_tsv ON {s}.chunks USING gin (tsv)",
        f"CREATE INDEX chunks_access ON {s}.chunks USING gin (access)",
        f"CREATE INDEX chunks_kind ON {s}.chunks (kind)",
        f"CREATE INDEX chunks_channel ON {s}.chunks (channel)",
        f"CREATE INDEX chunks_date ON {s}.chunks (date_ord)",
        # The ingest ledger (ingest/manifest.py's tables, shared by every ingest host).
        f"""CREATE TABLE {s}.ledger_docs (
            doc_id text PRIMARY KEY, root text NOT NULL, unit text NOT NULL, source text NOT NULL,
            paths jsonb NOT NULL, version text NOT NULL, dup_key text NOT NULL, state text NOT NULL,
            chunk_ids jsonb NOT NULL DEFAULT '[]', kind text, title text, updated double precision)""",
        f"CREATE INDEX ledger_docs_root ON {s}.ledger_docs (root)",
        f"""CREATE TABLE {s}.ledger_units (unit text NOT NULL, root text NOT NULL, sig text NOT NULL,
            sources jsonb NOT NULL, PRIMARY KEY (root, unit))""",
        # The query log (rag/querylog.py's tables).
        f"""CREATE TABLE {s}.questions (
            question_id text PRIMARY KEY, asked_at double precision NOT NULL, asker text, question text NOT NULL,
            question_kind text NOT NULL, abstained boolean NOT NULL, confidence double precision NOT NULL,
            latency_ms double precision NOT NULL, experts jsonb NOT NULL)""",
        f"CREATE INDEX questions_asked_at ON {s}.questions (asked_at)",
        f"""CREATE TABLE {s}.citations (
            question_id text NOT NULL REFERENCES {s}.questions ON DELETE CASCADE, n integer NOT NULL,
            doc_id text NOT NULL, title text NOT NULL, kind text NOT NULL, source text NOT NULL, date text,
            authors jsonb NOT NULL, PRIMARY KEY (question_id, n))""",
        f"CREATE INDEX citations_doc ON {s}.citations (doc_id)",
        f"""CREATE TABLE {s}.feedback (
            id bigserial PRIMARY KEY, question_id text NOT NULL REFERENCES {s}.questions ON DELETE CASCADE,
            helpful boolean NOT NULL, comment text, at double precision NOT NULL)""",
        f"CREATE INDEX feedback_question ON {s}.feedback (question_id)",
        f"""CREATE TABLE {s}.replays (content_sha256 text NOT NULL, file text NOT NULL, questions integer NOT NULL,
            at double precision NOT NULL)""",
        # Small shared documents: the people directory (people.json in the embedded store).
        f"CREATE TABLE {s}.directory (key text PRIMARY KEY, body jsonb NOT NULL, updated timestamptz NOT NULL)",
    ]


def _v2(s: str, **_: object) -> list[str]:
    # Each corpus root's id, part of its document ids (ingest/ids.py), recorded with its first document.
    return [f"CREATE TABLE {s}.ledger_roots (root text PRIMARY KEY, root_id text NOT NULL, "
            "since double precision NOT NULL)"]


# Version -> statements. Append new versions; never edit a released one.
MIGRATIONS: dict[int, Callable[..., list[str]]] = {1: _v1, 2: _v2}
LATEST = max(MIGRATIONS)


def _extension(conn: Any, db: Database) -> None:
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
        return
    if not conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone():
        raise BackendUnavailable(
            f"The pgvector extension is not installed on the server of {db.where} - install it (Debian/Ubuntu: "
            "`apt install postgresql-NN-pgvector`; RDS, Cloud SQL, AlloyDB, Supabase, Neon: it is built in), then "
            "run `whoknows db migrate`.")
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except db.errors().InsufficientPrivilege as exc:
        raise BackendUnavailable(
            f"pgvector is available but not enabled in {db.where}, and this user may not enable it - ask the "
            "database owner to run `CREATE EXTENSION vector;` in that database, then `whoknows db migrate`."
        ) from exc


VECTOR_INDEXES = ("hnsw", "exact")


def _index_sql(s: str, vector_index: str, dim: int) -> list[str]:
    # Each statement is a no-op when already done, so a migration re-running them is harmless.
    if vector_index == "hnsw":
        return [f"CREATE INDEX IF NOT EXISTS chunks_embedding ON {s}.chunks USING hnsw (embedding vector_cosine_ops)",
                f"ALTER TABLE {s}.chunks DROP COLUMN IF EXISTS embedding_half"]
    return [f"DROP INDEX IF EXISTS {s}.chunks_embedding",
            f"ALTER TABLE {s}.chunks ADD COLUMN IF NOT EXISTS embedding_half halfvec({dim}) "
            f"GENERATED ALWAYS AS (embedding::halfvec({dim})) STORED"]


def recorded_index(meta: dict[str, str]) -> str:
    """The dense index a collection was built with (collections from before the choice have HNSW)."""
    return meta.get("vector_index", "hnsw")


def applied_version(db: Database) -> int:
    """The schema version of the collection (0: no whoknows schema there yet)."""
    got = db.one("SELECT to_regclass(%s)", (f"{quote_ident(db.schema)}.schema_migrations",))
    if not got or got[0] is None:
        return 0
    row = db.one(f"SELECT max(version) FROM {quote_ident(db.schema)}.schema_migrations")
    return int(row[0]) if row and row[0] is not None else 0


def migrate(db: Database, *, embedder: str, dim: int, text_search: str, vector_index: str) -> list[int]:
    """Apply the missing migrations, then bring the text and vector indexes to the given choices; returns the
    versions applied now (empty when up to date)."""
    s = quote_ident(db.schema)
    applied: list[int] = []
    with db.guard("migrate the schema"):
        conn = db.connect()
        try:
            _extension(conn, db)
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(db.schema, "migrate"),))
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
                conn.execute(f"CREATE TABLE IF NOT EXISTS {s}.schema_migrations (version integer PRIMARY KEY, "
                             "applied_at timestamptz NOT NULL DEFAULT now())")
                done = {r[0] for r in conn.execute(f"SELECT version FROM {s}.schema_migrations").fetchall()}
                for version in sorted(set(MIGRATIONS) - done):
                    for sql in MIGRATIONS[version](s, dim=dim, cfg=text_config(text_search)):
                        conn.execute(sql)
                    conn.execute(f"INSERT INTO {s}.schema_migrations (version) VALUES (%s)", (version,))
                    applied.append(version)
                if 1 in applied:
                    conn.execute(f"INSERT INTO {s}.meta VALUES ('embedder', %s), ('dim', %s), ('text_search', %s)",
                                 (embedder, str(dim), text_search))
                else:
                    _retext(conn, s, text_search)
                _reindex(conn, s, vector_index)
        finally:
            conn.close()
    return applied


def _retext(conn: Any, s: str, text_search: str) -> None:
    """Rebuild the generated text columns when the configured text search changed (``whoknows db migrate``)."""
    row = conn.execute(f"SELECT value FROM {s}.meta WHERE key = 'text_search'").fetchone()
    if row is None or row[0] == text_search:
        return
    tsv = f"to_tsvector('{text_config(text_search)}'::regconfig, search_text)"
    conn.execute(f"ALTER TABLE {s}.chunks DROP COLUMN doc_len, DROP COLUMN tsv")
    conn.execute(f"ALTER TABLE {s}.chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS ({tsv}) STORED, "
                 f"ADD COLUMN doc_len integer GENERATED ALWAYS AS ({s}.tsv_length({tsv})) STORED")
    conn.execute(f"CREATE INDEX chunks_tsv ON {s}.chunks USING gin (tsv)")
    conn.execute(f"UPDATE {s}.meta SET value = %s WHERE key = 'text_search'", (text_search,))
    conn.execute(f"SELECT nextval('{s}.revision')")


def _reindex(conn: Any, s: str, vector_index: str) -> None:
    """Build or drop what the configured dense search needs (``whoknows db migrate``): the HNSW index, or the
    half-precision column the exact scan reads."""
    if vector_index not in VECTOR_INDEXES:
        raise ConfigError(f"WHOKNOWS_PG_VECTOR_INDEX {vector_index!r} is not one of {', '.join(VECTOR_INDEXES)}.")
    meta = dict(conn.execute(f"SELECT key, value FROM {s}.meta").fetchall())
    for sql in _index_sql(s, vector_index, int(meta["dim"])):
        conn.execute(sql)
    conn.execute(f"INSERT INTO {s}.meta VALUES ('vector_index', %s) ON CONFLICT (key) DO UPDATE SET value = "
                 "EXCLUDED.value", (vector_index,))


def check(db: Database, *, embedder: str, dim: int, text_search: str,
          vector_index: str) -> dict[str, str]:
    """The collection's recorded embedder, dimension and text search; errors naming the fix on a mismatch."""
    meta = dict(db.rows(f"SELECT key, value FROM {quote_ident(db.schema)}.meta"))
    stored, stored_dim = meta.get("embedder"), meta.get("dim")
    if stored != embedder or stored_dim != str(dim):
        raise EmbeddingMismatch(
            f"The collection {db.schema!r} in {db.where} was built with the {stored!r} embedder ({stored_dim} dims) "
            f"but {embedder!r} ({dim} dims) is configured - set WHOKNOWS_EMBEDDER to match, or ingest into a new "
            "WHOKNOWS_COLLECTION.")
    if meta.get("text_search") != text_search:
        raise ConfigError(
            f"The collection {db.schema!r} in {db.where} indexes text with {meta.get('text_search')!r} but "
            f"WHOKNOWS_PG_TEXT_SEARCH is {text_search!r} - run `whoknows db migrate` to rebuild the text index, "
            "or set WHOKNOWS_PG_TEXT_SEARCH back.")
    if recorded_index(meta) != vector_index:
        raise ConfigError(
            f"The collection {db.schema!r} in {db.where} searches its vectors with {recorded_index(meta)!r} but "
            f"WHOKNOWS_PG_VECTOR_INDEX is {vector_index!r} - run `whoknows db migrate` to build or drop the HNSW "
            "index, or set WHOKNOWS_PG_VECTOR_INDEX back.")
    return meta


def ensure(db: Database, *, embedder: str, dim: int, text_search: str, create: bool,
           vector_index: str) -> None:
    """Open-time check: migrate a missing or older schema (only ``create`` may make one from nothing)."""
    version = applied_version(db)
    if version == 0 and not create:
        raise StoreError(f"No whoknows collection {db.schema!r} in {db.where} - run "
                         "`WHOKNOWS_STORE=postgres whoknows ingest PATH` first, or set WHOKNOWS_COLLECTION to the one "
                         "you ingested into.")
    if version > LATEST:
        raise StoreError(f"{db.where} has schema version {version}, newer than this whoknows knows ({LATEST}) - "
                         "upgrade whoknows on this host.")
    if version == 0:
        migrate(db, embedder=embedder, dim=dim, text_search=text_search, vector_index=vector_index)
    elif version < LATEST:
        # Only the chunks table depends on the model; later migrations never do, so the recorded values serve.
        meta = dict(db.rows(f"SELECT key, value FROM {quote_ident(db.schema)}.meta"))
        migrate(db, embedder=meta["embedder"], dim=int(meta["dim"]), text_search=meta["text_search"],
                vector_index=recorded_index(meta))
    meta = dict(db.rows(f"SELECT key, value FROM {quote_ident(db.schema)}.meta"))
    if recorded_index(meta) == "exact" and not db.one(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = 'chunks' AND "
            "column_name = 'embedding_half'", (db.schema,)):
        # An exact collection from before the half-precision column: add it (once, under the migration lock).
        migrate(db, embedder=meta["embedder"], dim=int(meta["dim"]), text_search=meta["text_search"],
                vector_index="exact")
    check(db, embedder=embedder, dim=dim, text_search=text_search, vector_index=vector_index)


def migrate_collection(db: Database, *, embedder: str, dim: int, text_search: str,
                       vector_index: str) -> tuple[list[int], int]:
    """``whoknows db migrate``: bring the collection to the latest schema (creating it), rebuild the text index if
    ``text_search`` changed, build or drop the HNSW index if ``vector_index`` changed, check the embedder.
    Returns (versions applied now, current version)."""
    applied = migrate(db, embedder=embedder, dim=dim, text_search=text_search, vector_index=vector_index)
    check(db, embedder=embedder, dim=dim, text_search=text_search, vector_index=vector_index)
    return applied, applied_version(db)

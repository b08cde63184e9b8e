"""Two corpora in one data dir keep their own documents, even where they share a relative path (issue 11, item 3).

Document ids hash the corpus root's id with the path (``ingest/ids.py``); the ledger keeps each root's documents,
units and id. A store written before that (ids from the path alone) is moved onto the new ids at the next ingest
of each root without embedding anything. Run on the embedded store and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ingest import pipeline
from ingest.ids import document_id, legacy_document_id, root_id
from ingest.manifest import open_manifest
from ingest.pipeline import ingest
from ingest.roots import forget_root, rekey_root
from rag.config import Settings
from rag.embeddings import make_embedder
from rag.querylog import QueryLog
from rag.stores import open_store
from rag.types import Answer, Citation
from tests.ingest.helpers import manifest_docs, run_cli, stored_chunks, write
from tests.ingest.test_incremental import SECTIONS, assert_consistent

Factory = Callable[[], Settings]


@pytest.fixture(params=["chroma-embedded", pytest.param("postgres", marks=pytest.mark.integration)])
def make_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of a fresh store of the backend under test (hashing embedder)."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_server").settings(tmp_path / "data", embedder="hashing")
    return Settings(embedder="hashing", data_dir=tmp_path / "data")


def two_corpora(tmp_path: Path) -> tuple[Path, Path]:
    """Folders A and B, both with ``wiki/handbook.md`` (different pages), and one page of their own each."""
    a, b = tmp_path / "A", tmp_path / "B"
    write(a, "wiki/handbook.md", "---\ntitle: Alpha handbook\nauthors: [Ann Lee]\n---\n# Alpha handbook\n\n"
          "Alpha ships on Tuesdays after the canary soak.\n")
    write(a, "wiki/extra.md", "# Extra\n\nAlpha keeps its runbooks in the ops repository.\n")
    write(b, "wiki/handbook.md", "---\ntitle: Bravo handbook\nauthors: [Bob Stone]\n---\n# Bravo handbook\n\n"
          "Bravo ships on Fridays, never during the freeze.\n")
    write(b, "notes/bravo.md", "# Bravo notes\n\nBravo pages the secondary after ten minutes.\n")
    return a, b


def handbooks(settings: Settings) -> dict[str, tuple[str, str]]:
    """Title -> (doc id, text) of every stored chunk of ``wiki/handbook.md``."""
    return {c.title: (c.doc_id, c.text) for c in stored_chunks(settings) if c.source == "wiki/handbook.md"}


def test_two_folders_sharing_a_relative_path_both_survive_and_re_ingests_leave_the_other(tmp_path, make_settings):
    a, b = two_corpora(tmp_path)
    ingest(a, make_settings)

    second = ingest(b, make_settings)

    assert second.added == 2 and second.deleted == 0 and second.replaced == 0
    found = handbooks(make_settings)
    assert set(found) == {"Alpha handbook", "Bravo handbook"}  # before: Bravo's page replaced Alpha's
    assert found["Alpha handbook"][0] == document_id(root_id(str(a.resolve())), "wiki/handbook.md")
    assert found["Alpha handbook"][0] != found["Bravo handbook"][0]
    before = {c.chunk_id: c for c in stored_chunks(make_settings)}
    for root in (a, b, a):  # re-ingesting either touches nothing (before: A flipped the page back, then B)
        again = ingest(root, make_settings)
        assert (again.added, again.replaced, again.deleted, again.embedded) == (0, 0, 0, 0) and again.unchanged == 2
    assert {c.chunk_id: c for c in stored_chunks(make_settings)} == before
    assert len({d.doc_id for d in manifest_docs(make_settings)}) == 4
    assert_consistent(make_settings)


def test_deleting_or_changing_a_shared_path_in_one_corpus_leaves_the_other(tmp_path, make_settings):
    a, b = two_corpora(tmp_path)
    ingest(a, make_settings)
    ingest(b, make_settings)

    (a / "wiki" / "handbook.md").unlink()
    gone = ingest(a, make_settings)

    assert gone.deleted == 1 and gone.unchanged == 1
    assert set(handbooks(make_settings)) == {"Bravo handbook"}
    assert {c.source for c in stored_chunks(make_settings)} == {"wiki/extra.md", "wiki/handbook.md", "notes/bravo.md"}

    write(b, "wiki/handbook.md", "# Bravo handbook\n\nBravo now ships on Thursdays.\n")
    changed = ingest(b, make_settings)
    assert changed.replaced == 1 and changed.deleted == 0
    assert {c.source for c in stored_chunks(make_settings)} == {"wiki/extra.md", "wiki/handbook.md", "notes/bravo.md"}
    assert_consistent(make_settings)


def test_forgetting_a_moved_corpus_removes_only_its_documents(tmp_path, make_settings):
    a, b = two_corpora(tmp_path)
    ingest(a, make_settings)
    ingest(b, make_settings)
    moved = a.rename(tmp_path / "A-moved")
    ingest(moved, make_settings)  # a new root: its documents are stored again, the old root's stay until forgotten
    assert len([c for c in stored_chunks(make_settings) if c.title == "Alpha handbook"]) == 2

    manifest = open_manifest(make_settings)
    try:
        store = open_store(make_settings, make_embedder(make_settings))
        assert forget_root(manifest, store, root=str(a.resolve())) == 2
        assert str(a.resolve()) not in manifest.roots() and str(moved.resolve()) in manifest.roots()
    finally:
        manifest.close()
    assert sorted(c.title for c in stored_chunks(make_settings)) == ["Alpha handbook", "Bravo handbook",
                                                                        "Bravo notes", "Extra"]
    assert_consistent(make_settings)


@pytest.mark.integration
def test_whoknows_forget_removes_one_corpus_and_names_the_known_ones_for_an_unknown_path(tmp_path):
    settings = Settings(embedder="hashing", data_dir=tmp_path / "data")
    a, b = two_corpora(tmp_path)
    ingest(a, settings)
    ingest(b, settings)

    done = run_cli("forget", str(a), "--data-dir", str(settings.data_dir), "--json")
    again = run_cli("forget", str(a), "--data-dir", str(settings.data_dir))

    assert done.returncode == 0, done.stderr
    assert '"documents": 2' in done.stdout
    assert sorted(c.title for c in stored_chunks(settings)) == ["Bravo handbook", "Bravo notes"]
    assert again.returncode == 1 and "Nothing was ingested from" in again.stderr and str(b.resolve()) in again.stderr
    assert ingest(b, settings).unchanged == 2  # the other corpus is untouched, ledger and all


# -- a store written before corpus-root ids -----------------------------------------------------------------
def legacy_ingest(root: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest ``root`` as the previous release did: document ids from the source alone (chunk ids follow them)."""
    with monkeypatch.context() as m:
        m.setattr(pipeline, "document_id", lambda _rid, source: legacy_document_id(source))
        assert ingest(root, settings).failed == []


def log_citation(settings: Settings, doc_id: str) -> None:
    log = QueryLog.from_settings(settings)
    assert log is not None
    log.record(Answer(question="When does Alpha ship?", answer="On Tuesdays [1].", abstained=False, confidence=0.9,
                      question_id="q1", citations=(Citation(n=1, doc_id=doc_id, title="Alpha handbook", kind="wiki",
                                                            source="wiki/handbook.md", quote="Alpha ships"),)))


def test_a_store_with_path_only_ids_is_rekeyed_without_embedding_and_keeps_its_query_log(
        tmp_path, make_settings, monkeypatch):
    a, b = two_corpora(tmp_path)
    write(a, "wiki/release.md", "---\ntitle: Release\nauthors: [Ann Lee]\n---\n# Release\n\n" + SECTIONS)
    legacy_ingest(a, make_settings, monkeypatch)
    old = {c.chunk_id: c for c in stored_chunks(make_settings)}
    assert {c.doc_id for c in old.values()} == {legacy_document_id(s) for s in
                                                ("wiki/handbook.md", "wiki/extra.md", "wiki/release.md")}
    store = open_store(make_settings, make_embedder(make_settings))
    old_vectors = store.vectors(list(old))
    log_citation(make_settings, legacy_document_id("wiki/handbook.md"))

    summary = ingest(a, make_settings)

    assert summary.rekeyed == 3 and summary.embedded == 0 and summary.unchanged == 3
    assert (summary.added, summary.replaced, summary.deleted) == (0, 0, 0)
    rid = root_id(str(a.resolve()))
    new = {c.chunk_id: c for c in stored_chunks(make_settings)}
    assert len(new) == len(old) and {c.doc_id for c in new.values()} == {
        document_id(rid, s) for s in ("wiki/handbook.md", "wiki/extra.md", "wiki/release.md")}
    # The same passages, metadata and vectors, under the ids the chunker now makes (so they keep being reused).
    by_text = {(c.source, c.index): c for c in old.values()}
    new_vectors = store.vectors(list(new))
    for cid, c in new.items():
        was = by_text[(c.source, c.index)]
        assert c.model_copy(update={"chunk_id": was.chunk_id, "doc_id": was.doc_id}) == was
        assert np.array_equal(new_vectors[cid], old_vectors[was.chunk_id])
    log = QueryLog.from_settings(make_settings)
    assert log is not None
    assert [c.doc_id for q in log.questions() for c in q.citations] == [document_id(rid, "wiki/handbook.md")]
    assert_consistent(make_settings)

    # The chunk ids are the chunker's: a page that changes one section re-embeds that section only.
    write(a, "wiki/release.md", "---\ntitle: Release\nauthors: [Ann Lee]\n---\n# Release\n\n"
          + SECTIONS.replace("the soak check", "the extended soak check"))
    changed = ingest(a, make_settings)
    assert changed.replaced == 1 and changed.embedded == 1 and changed.reused_vectors >= 4 and changed.rekeyed == 0
    # And a second corpus sharing a path no longer replaces the first's page.
    ingest(b, make_settings)
    assert set(handbooks(make_settings)) == {"Alpha handbook", "Bravo handbook"}
    assert_consistent(make_settings)


class FailingStore:
    """A real store that fails on the ``n``-th call of ``method`` (a crash or a lost connection mid-way)."""

    def __init__(self, store: object, method: str, n: int) -> None:
        self._store, self._method, self._left = store, method, n

    def __getattr__(self, name: str) -> object:
        attr = getattr(self._store, name)
        if name != self._method:
            return attr

        def call(*args: object, **kwargs: object) -> object:
            self._left -= 1
            if self._left <= 0:
                raise RuntimeError(f"{name} interrupted")
            return attr(*args, **kwargs)

        return call


@pytest.mark.parametrize(("method", "n"), [("upsert", 1), ("delete_document", 2)])
def test_a_rekeying_interrupted_mid_way_is_finished_by_the_next_ingest(tmp_path, make_settings, monkeypatch,
                                                                        method, n):
    a, _ = two_corpora(tmp_path)
    legacy_ingest(a, make_settings, monkeypatch)
    texts = sorted(c.text for c in stored_chunks(make_settings))
    manifest = open_manifest(make_settings)
    try:
        store = FailingStore(open_store(make_settings, make_embedder(make_settings)), method, n)
        with pytest.raises(RuntimeError, match="interrupted"):
            rekey_root(manifest, store, make_settings, root=str(a.resolve()),  # type: ignore[arg-type]
                       rid=root_id(str(a.resolve())))
    finally:
        manifest.close()

    summary = ingest(a, make_settings)

    assert summary.failed == [] and summary.embedded == 0 and summary.deleted == 0
    assert sorted(c.text for c in stored_chunks(make_settings)) == texts  # every passage once, none lost
    rid = root_id(str(a.resolve()))
    assert {d.doc_id for d in manifest_docs(make_settings)} == {document_id(rid, s) for s in
                                                                ("wiki/handbook.md", "wiki/extra.md")}
    assert_consistent(make_settings)


@pytest.mark.integration
def test_a_postgres_collection_of_schema_1_with_path_only_ids_upgrades_at_the_next_ingest(
        tmp_path, postgres_server, monkeypatch):
    from rag.stores.pg import Database, quote_ident
    from rag.stores.pg_schema import LATEST, applied_version

    settings = postgres_server.settings(tmp_path / "data", embedder="hashing")
    a, b = two_corpora(tmp_path)
    legacy_ingest(a, settings, monkeypatch)
    db = Database(settings)
    s = quote_ident(db.schema)
    with db.transaction() as conn:  # back to what the previous release created: no table of root ids
        conn.execute(f"DROP TABLE {s}.ledger_roots")
        conn.execute(f"DELETE FROM {s}.schema_migrations WHERE version > 1")
    assert applied_version(db) == 1

    summary = ingest(a, settings)

    assert applied_version(db) == LATEST and summary.rekeyed == 2 and summary.embedded == 0
    assert db.one(f"SELECT root_id FROM {s}.ledger_roots") == (root_id(str(a.resolve())),)
    ingest(b, settings)
    assert set(handbooks(settings)) == {"Alpha handbook", "Bravo handbook"}
    assert_consistent(settings)
    db.close()

"""Re-ingesting: unchanged embeds nothing; changes replace, removals delete, duplicates are stored once."""

from __future__ import annotations

import gc
import sqlite3
from collections import Counter

import pytest

from ingest.pipeline import ingest
from rag.errors import BadInput
from tests.ingest.helpers import by_source, manifest_docs, stored_chunks, write, write_json

SECTIONS = "".join(f"## Section {i}\n\nStep {i} of the release: the {w} check must pass.\n\n"
                   for i, w in enumerate(["lint", "unit", "smoke", "canary", "soak"]))


def small_corpus(root):
    write(root, "wiki/release.md", "---\ntitle: Release\nauthors: [Ann Lee]\n---\n# Release\n\n" + SECTIONS)
    write(root, "wiki/oncall.md", "# On call\n\nThe pager rotates on Mondays at ten.\n")
    write(root, "notes.txt", "Notes\n\nThe VPN certificate expires in March.\n")
    write_json(root, "threads/db.json", {"messages": [{"author": "Bob Stone", "text": "Who owns the db?"},
                                                      {"author": "Cara Diaz", "text": "Cara does."}]})


def assert_consistent(settings):
    """The store holds exactly the chunks the ledger records, each once."""
    chunks = stored_chunks(settings)
    pairs = Counter((c.doc_id, c.index) for c in chunks)
    assert all(n == 1 for n in pairs.values()), f"duplicate chunks: {[p for p, n in pairs.items() if n > 1]}"
    docs = manifest_docs(settings)
    assert {d.state for d in docs} <= {"done"}
    assert {c.chunk_id for c in chunks} == {cid for d in docs for cid in d.chunk_ids}
    for d in docs:
        indexes = sorted(i for doc_id, i in pairs if doc_id == d.doc_id)
        assert indexes == list(range(len(d.chunk_ids)))


def test_second_run_on_unchanged_folder_embeds_nothing(corpus, settings):
    small_corpus(corpus)
    first = ingest(corpus, settings)
    before = {c.chunk_id: c for c in stored_chunks(settings)}

    second = ingest(corpus, settings)

    assert first.embedded == first.chunks > 0 and first.added == first.documents == 4
    assert second.embedded == 0 and second.reused_vectors == 0
    assert second.unchanged == second.documents == 4
    assert (second.added, second.replaced, second.deleted, second.failed) == (0, 0, 0, [])
    assert second.chunks == first.chunks
    assert {c.chunk_id: c for c in stored_chunks(settings)} == before
    assert_consistent(settings)


def test_a_new_pipeline_version_re_reads_everything_and_reuses_the_vectors(corpus, settings, monkeypatch):
    """A store written by older whoknows code is re-read after an upgrade instead of keeping stale chunks."""
    from ingest import pipeline

    small_corpus(corpus)
    first = ingest(corpus, settings)
    monkeypatch.setattr(pipeline, "PIPELINE_VERSION", "upgraded")  # what a release that bumps it does

    upgraded = ingest(corpus, settings)

    assert upgraded.replaced == upgraded.documents == 4 and upgraded.unchanged == 0
    assert upgraded.embedded == 0 and upgraded.reused_vectors == first.chunks, "same passages: no re-embedding"
    assert ingest(corpus, settings).unchanged == 4, "and then it is steady again"
    assert_consistent(settings)


def test_changed_document_replaces_all_its_chunks(corpus, settings):
    small_corpus(corpus)
    ingest(corpus, settings)
    write(corpus, "wiki/oncall.md", "# On call\n\nThe pager now rotates on Fridays at noon.\n")

    summary = ingest(corpus, settings)

    assert (summary.replaced, summary.unchanged, summary.added, summary.deleted) == (1, 3, 0, 0)
    assert summary.embedded == 1
    texts = "\n".join(c.text for c in stored_chunks(settings))
    assert "Fridays at noon" in texts
    assert "Mondays at ten" not in texts
    assert_consistent(settings)


def test_shrunk_document_leaves_no_stale_chunks(corpus, settings):
    small_corpus(corpus)
    ingest(corpus, settings)
    release = by_source(stored_chunks(settings))["wiki/release.md"]
    assert len(release) >= 5

    write(corpus, "wiki/release.md", "---\ntitle: Release\nauthors: [Ann Lee]\n---\n# Release\n\n"
                                     "## Section 0\n\nStep 0 of the release: the lint check must pass.\n")
    summary = ingest(corpus, settings)

    assert summary.replaced == 1
    after = by_source(stored_chunks(settings))["wiki/release.md"]
    assert len(after) == 1 and "lint check" in after[0].text
    texts = "\n".join(c.text for c in stored_chunks(settings))
    for word in ("unit", "smoke", "canary", "soak"):
        assert f"the {word} check" not in texts
    # The unchanged passage kept its vector instead of being embedded again.
    assert summary.embedded == 0 and summary.reused_vectors == 1
    assert_consistent(settings)


def test_thread_gaining_a_reply_is_replaced(corpus, settings):
    small_corpus(corpus)
    ingest(corpus, settings)
    write_json(corpus, "threads/db.json", {"messages": [
        {"author": "Bob Stone", "text": "Who owns the db?"},
        {"author": "Dan Fox", "text": "Dan took it over in May."}]})

    summary = ingest(corpus, settings)

    assert summary.replaced == 1
    thread = by_source(stored_chunks(settings))["threads/db.json"]
    assert [m.author for c in thread for m in c.messages] == ["Bob Stone", "Dan Fox"]
    assert "Cara does" not in "\n".join(c.text for c in thread)
    assert_consistent(settings)


def test_removed_file_chunks_are_deleted(corpus, settings):
    small_corpus(corpus)
    ingest(corpus, settings)
    (corpus / "notes.txt").unlink()
    (corpus / "threads" / "db.json").unlink()

    summary = ingest(corpus, settings)

    assert summary.deleted == 2 and summary.documents == 2 and summary.unchanged == 2
    sources = set(by_source(stored_chunks(settings)))
    assert sources == {"wiki/release.md", "wiki/oncall.md"}
    assert {d.source for d in manifest_docs(settings)} == sources
    assert_consistent(settings)


def test_duplicate_file_is_stored_once_and_knows_both_paths(corpus, settings):
    small_corpus(corpus)
    body = "# Runbook\n\nRestart the worker, then check /var/log/worker.\n"
    write(corpus, "team-a/runbook.md", body)
    write(corpus, "team-b/runbook-copy.md", body)

    summary = ingest(corpus, settings)

    assert summary.duplicates == 1 and summary.documents == 5
    copies = [c for c in stored_chunks(settings) if "Restart the worker" in c.text]
    assert len(copies) == 1
    assert copies[0].paths == ("team-a/runbook.md", "team-b/runbook-copy.md")
    assert copies[0].source == "team-a/runbook.md"
    assert ingest(corpus, settings).embedded == 0
    assert_consistent(settings)


def test_removing_the_primary_copy_keeps_the_other(corpus, settings):
    body = "# Runbook\n\nRestart the worker, then check /var/log/worker.\n"
    write(corpus, "a/runbook.md", body)
    write(corpus, "b/runbook.md", body)
    ingest(corpus, settings)
    (corpus / "a" / "runbook.md").unlink()

    summary = ingest(corpus, settings)

    assert summary.documents == 1 and summary.duplicates == 0
    (chunk,) = stored_chunks(settings)
    assert chunk.source == "b/runbook.md" and chunk.paths == ("b/runbook.md",)
    assert_consistent(settings)


def test_diverging_copies_become_two_documents(corpus, settings):
    body = "# Runbook\n\nRestart the worker, then check /var/log/worker.\n"
    write(corpus, "a/runbook.md", body)
    write(corpus, "b/runbook.md", body)
    ingest(corpus, settings)
    write(corpus, "b/runbook.md", "# Runbook\n\nTeam B restarts with the deploy bot instead.\n")

    summary = ingest(corpus, settings)

    assert summary.documents == 2 and summary.duplicates == 0
    found = {c.source: c.paths for c in stored_chunks(settings)}
    assert found == {"a/runbook.md": ("a/runbook.md",), "b/runbook.md": ("b/runbook.md",)}
    assert_consistent(settings)


def test_copy_added_later_joins_the_stored_document(corpus, settings):
    body = "# Runbook\n\nRestart the worker, then check /var/log/worker.\n"
    write(corpus, "b/runbook.md", body)
    ingest(corpus, settings)
    write(corpus, "a/runbook.md", body)  # sorts first: becomes the primary source

    summary = ingest(corpus, settings)

    assert summary.documents == 1 and summary.duplicates == 1
    (chunk,) = stored_chunks(settings)
    assert chunk.paths == ("a/runbook.md", "b/runbook.md")
    assert_consistent(settings)


def test_two_corpora_in_one_data_dir_do_not_delete_each_other(tmp_path, settings):
    one, two = tmp_path / "one", tmp_path / "two"
    write(one, "a.md", "# A\n\nAlpha lives in corpus one.\n")
    write(two, "b.md", "# B\n\nBravo lives in corpus two.\n")
    ingest(one, settings)

    summary = ingest(two, settings)

    assert summary.deleted == 0
    assert {c.source for c in stored_chunks(settings)} == {"a.md", "b.md"}


def test_same_body_with_different_front_matter_is_not_a_duplicate(corpus, settings):
    """Template stubs share a body; each keeps its own title and author."""
    write(corpus, "payments.md", "---\ntitle: Payments runbook\nauthors: [Ann Lee]\n---\n## Summary\n\nTBD\n")
    write(corpus, "search.md", "---\ntitle: Search runbook\nauthors: [Bob Stone]\n---\n## Summary\n\nTBD\n")

    summary = ingest(corpus, settings)

    assert summary.documents == 2 and summary.duplicates == 0
    found = {c.source: (c.title, c.authors, c.paths) for c in stored_chunks(settings)}
    assert found == {"payments.md": ("Payments runbook", ("Ann Lee",), ("payments.md",)),
                     "search.md": ("Search runbook", ("Bob Stone",), ("search.md",))}


def open_sqlite_connections() -> int:
    """Open sqlite3 connections still alive (each sits in a reference cycle: only the collector frees one)."""
    n = 0
    for obj in gc.get_objects():
        if type(obj) is sqlite3.Connection:  # not isinstance: that asks lazy modules for their __class__
            try:
                obj.execute("SELECT 1")
            except sqlite3.ProgrammingError:
                continue  # closed
            n += 1
    return n


def test_an_ingest_leaves_no_ledger_connection_to_the_garbage_collector(corpus, settings):
    """A ledger connection closed by the collector checkpoints the ledger at a random moment, changing its mtime
    (part of the gap report's cache key) long after the ingest; every run closes what it opened, even failing."""
    small_corpus(corpus)
    gc.collect()
    gc.disable()
    try:
        ingest(corpus, settings)
        write(corpus, "wiki/oncall.md", "# On call\n\nThe pager now rotates on Tuesdays.\n")
        ingest(corpus, settings)
        write(corpus, "access.yaml", "wiki/**: [unclosed\n")
        with pytest.raises(BadInput):
            ingest(corpus, settings)
        assert open_sqlite_connections() == 0
        mtime = settings.manifest_path.stat().st_mtime_ns
        gc.collect()
        assert settings.manifest_path.stat().st_mtime_ns == mtime
    finally:
        gc.enable()

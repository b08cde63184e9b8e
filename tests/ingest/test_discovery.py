"""Every file under the root ends stored, unchanged, duplicate, skipped or failed - never lost without a word.

Hostile entries (issue 11): a self-referencing symlink, a folder symlink out of the root, a non-UTF-8 file
name, a FIFO named .md, a symlink to /dev/zero, a file over the size cap."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from tests.ingest.helpers import by_source, cli_env, run_cli, stored_chunks, write, write_json

PAGE = "---\ntitle: Runbook\nauthors: [Ann Lee]\n---\nRestart the queue worker after each deploy.\n"


def every_path(root: Path) -> set[str]:
    """What a user sees under the root: each file, and each hidden folder as one 'name/' entry."""
    out: set[str] = set()
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root)
        for d in list(dirs):
            full = Path(folder) / d
            if d.startswith(".") or os.path.islink(full) or d in ("node_modules", "__pycache__"):
                out.add(os.fsencode(rel / d).decode("utf-8", "backslashreplace") + ("/" if not
                                                                                 os.path.islink(full) else ""))
                dirs.remove(d)
        for f in files:
            out.add(os.fsencode(rel / f).decode("utf-8", "backslashreplace"))
    return {p.removeprefix("./") for p in out}


def mixed_folder(root: Path, outside: Path) -> None:
    write(root, "wiki/runbook.md", PAGE)
    write(root, "wiki/runbook-copy.md", PAGE)  # same content: stored once, two paths
    write(root, "wiki/page.html", "<html><body><h1>Page</h1><p>HTML lands.</p></body></html>")
    write(root, "wiki/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(50))
    write(root, "wiki/site.css", "body { color: red }")
    write(root, "wiki/fonts/inter.woff2", b"wOF2" + bytes(20))
    write(root, "package-lock.json", "{}")
    write(root, "wiki/notes.xyz", "an unknown kind of file")
    write(root, "wiki/broken.json", '{"messages": [')
    write(root, ".DS_Store", b"\x00\x00")
    write(root, ".git/HEAD", "ref: refs/heads/main\n")
    write(root, "node_modules/x/index.md", "# not knowledge\n\nbuild output\n")
    write(root, "wiki/big.md", "# Big\n\n" + "word " * 400)  # over the size cap set below
    write_json(root, "slack/users.json", [{"id": "U1", "profile": {"real_name": "Ann Lee"}}])
    write_json(root, "slack/channels.json", [{"id": "C1", "name": "general"}])
    write_json(root, "slack/general/2024-01-01.json", [{"user": "U1", "text": "Deploys are on Tuesday.",
                                                        "ts": "1704103200.000100"}])
    (root / "wiki" / "link.md").symlink_to("runbook.md")  # inside: one file, two paths
    (root / "wiki" / "loop.md").symlink_to("loop.md")  # points at itself
    (root / "wiki" / "zero.md").symlink_to("/dev/zero")
    write(outside, "secret.md", "# Secret\n\nOutside the corpus.\n")
    (root / "elsewhere").symlink_to(outside, target_is_directory=True)
    os.mkfifo(root / "wiki" / "pipe.md")  # reading it would block for ever
    (root / os.fsdecode(b"wiki/caf\xe9.md")).write_text("# Cafe\n\nThe name is Latin-1, not UTF-8.\n")


EXPECT = {
    "wiki/runbook-copy.md": "stored", "wiki/runbook.md": "duplicate", "wiki/link.md": "duplicate",
    "wiki/page.html": "stored", "wiki/caf\\xe9.md": "stored", "slack/general/2024-01-01.json": "stored",
    "wiki/logo.png": "skipped", "wiki/site.css": "skipped", "wiki/fonts/inter.woff2": "skipped",
    "package-lock.json": "skipped", ".DS_Store": "skipped", ".git/": "skipped", "node_modules/": "skipped",
    "wiki/big.md": "skipped", "slack/users.json": "skipped", "slack/channels.json": "skipped",
    "wiki/loop.md": "skipped", "wiki/zero.md": "skipped", "elsewhere": "skipped", "wiki/pipe.md": "skipped",
    "wiki/notes.xyz": "failed", "wiki/broken.json": "failed",
}


def test_every_file_of_a_mixed_folder_has_exactly_one_outcome(tmp_path, corpus, settings):
    mixed_folder(corpus, tmp_path / "outside")
    settings = settings.model_copy(update={"max_file_bytes": 1000})

    summary = ingest(corpus, settings)

    assert set(summary.outcomes) == every_path(corpus)  # nothing vanished, nothing invented
    assert summary.outcomes == EXPECT
    assert {f.path for f in summary.failed} == {"wiki/notes.xyz", "wiki/broken.json"}
    reasons = {s.path: s.reason for s in summary.skipped}
    for path, word in {"wiki/logo.png": "image", "wiki/site.css": "stylesheet", "wiki/fonts/inter.woff2": "font",
                       "package-lock.json": "lock", "wiki/big.md": "size cap", "slack/users.json": "slack",
                       "wiki/loop.md": "loop", "wiki/zero.md": "outside", "elsewhere": "outside",
                       "wiki/pipe.md": "fifo", ".git/": "hidden"}.items():
        assert word in reasons[path].lower(), (path, reasons[path])
    assert summary.files.model_dump() == {"seen": 22, "stored": 4, "unchanged": 0, "duplicate": 2, "skipped": 14,
                                          "failed": 2}
    docs = by_source(stored_chunks(settings))
    assert set(docs) == {"wiki/runbook-copy.md", "wiki/page.html", "wiki/caf\\xe9.md",
                         "slack/general/2024-01-01.json"}
    assert set(docs["wiki/runbook-copy.md"][0].paths) == {"wiki/runbook-copy.md", "wiki/runbook.md", "wiki/link.md"}
    assert not any("Outside the corpus" in c.text for cs in docs.values() for c in cs)


def test_a_second_run_reports_the_same_files_unchanged(tmp_path, corpus, settings):
    mixed_folder(corpus, tmp_path / "outside")
    settings = settings.model_copy(update={"max_file_bytes": 1000})
    ingest(corpus, settings)

    again = ingest(corpus, settings)

    stored = {p for p, o in EXPECT.items() if o == "stored"}
    assert {p for p, o in again.outcomes.items() if o == "unchanged"} == stored
    assert {p for p, o in again.outcomes.items() if o not in ("unchanged",)} == set(EXPECT) - stored
    assert again.added == again.replaced == again.deleted == 0


def test_include_and_exclude_globs_choose_files_and_report_the_rest(corpus, settings):
    write(corpus, "wiki/a.md", "# A\n\nPage a.\n")
    write(corpus, "wiki/drafts/b.md", "# B\n\nA draft.\n")
    write(corpus, "wiki/c.html", "<p>Page c.</p>")
    settings = settings.model_copy(update={"include": ("*.md",), "exclude": ("wiki/drafts/*",)})

    summary = ingest(corpus, settings)

    assert set(by_source(stored_chunks(settings))) == {"wiki/a.md"}
    reasons = {s.path: s.reason for s in summary.skipped}
    assert "--exclude 'wiki/drafts/*'" in reasons["wiki/drafts/b.md"]
    assert "--include" in reasons["wiki/c.html"]
    assert summary.failed == []


def test_symlinked_folder_inside_the_root_is_one_set_of_files_with_two_paths(corpus, settings):
    write(corpus, "docs/guide.md", "# Guide\n\nThe one true guide.\n")
    (corpus / "mirror").symlink_to(corpus / "docs", target_is_directory=True)
    (corpus / "docs" / "again").symlink_to(corpus / "docs", target_is_directory=True)  # a folder loop

    summary = ingest(corpus, settings)

    docs = by_source(stored_chunks(settings))
    assert list(docs) == ["docs/guide.md"]
    assert set(docs["docs/guide.md"][0].paths) == {"docs/guide.md", "mirror/guide.md"}
    assert summary.outcomes["mirror/guide.md"] == "duplicate"
    assert "loop" in {s.path: s.reason for s in summary.skipped}["docs/again"]


@pytest.mark.integration
def test_cli_exits_0_when_files_were_only_skipped_and_lists_them(corpus, tmp_path):
    write(corpus, "a.md", "# A\n\nA page.\n")
    write(corpus, "logo.png", b"\x89PNG" + bytes(20))
    write(corpus, "style.css", "p {}")

    done = run_cli("ingest", str(corpus), "--json", "--data-dir", str(tmp_path / "d"), env=cli_env())

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["failed"] == []
    assert {s["path"] for s in report["skipped"]} == {"logo.png", "style.css"}
    assert report["files"] == {"seen": 3, "stored": 1, "unchanged": 0, "duplicate": 0, "skipped": 2, "failed": 0}


def test_a_slack_export_never_reads_what_discovery_refused(tmp_path, corpus, settings):
    write_json(corpus, "slack/users.json", [{"id": "U1", "profile": {"real_name": "Ann Lee"}}])
    write_json(corpus, "slack/channels.json", [{"id": "C1", "name": "general"}, {"id": "C2", "name": "away"}])
    write_json(corpus, "slack/general/2024-01-01.json",
               [{"user": "U1", "text": "Small and fine.", "ts": "1704103200.1"}])
    write_json(corpus, "slack/general/2024-01-02.json",
               [{"user": "U1", "text": "huge " * 400, "ts": "1704189600.1"}])  # over the cap below
    os.mkfifo(corpus / "slack" / "general" / "2024-01-03.json")
    write_json(tmp_path / "outside", "2024-01-04.json", [{"user": "U1", "text": "Not ours.", "ts": "1704362400.1"}])
    (corpus / "slack" / "away").symlink_to(tmp_path / "outside", target_is_directory=True)
    settings = settings.model_copy(update={"max_file_bytes": 1000})

    summary = ingest(corpus, settings)

    assert summary.failed == []
    assert set(by_source(stored_chunks(settings))) == {"slack/general/2024-01-01.json"}
    assert {p for p, o in summary.outcomes.items() if o == "skipped"} >= {
        "slack/general/2024-01-02.json", "slack/general/2024-01-03.json", "slack/away"}


def _git(repo: Path, *args: str, who: str = "Ann Lee") -> None:
    import subprocess

    env = {**os.environ, "GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": f"{who.split()[0].lower()}@kestrel.example",
           "GIT_COMMITTER_NAME": who, "GIT_COMMITTER_EMAIL": "ci@kestrel.example",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def test_a_git_repository_inside_the_corpus_gives_its_files_authors(corpus, settings):
    repo = corpus / "handbooks" / "platform"
    write(repo, "deploy.md", "# Deploy\n\nPromote builds with deployctl.\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "deploy.md")
    _git(repo, "commit", "-q", "-m", "deploy page")
    write(repo, "deploy.md", "# Deploy\n\nPromote builds with deployctl.\n\nRoll back with deployctl undo.\n"
                             "Check the dashboard after each step.\nPage the on-call if it stays red.\n")
    _git(repo, "commit", "-q", "-am", "rollback", who="Bob Stone")
    write(corpus, "loose.md", "# Loose\n\nNo history here.\n")

    summary = ingest(corpus, settings)

    assert summary.failed == [] and summary.outcomes["handbooks/platform/.git/"] == "skipped"
    docs = by_source(stored_chunks(settings))
    assert docs["handbooks/platform/deploy.md"][0].doc_authors == ("Bob Stone", "Ann Lee")
    assert docs["loose.md"][0].doc_authors == ()

"""Who is credited: message senders > front matter > byline > AUTHORS.json > git history; aliases merge."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from rag.config import Settings
from tests.ingest.helpers import by_source, stored_chunks, write, write_json

PEOPLE = """people:
  - name: Tomasz Wilk
    aliases: [tomasz, twilk, Tom W]
    email: tomasz.wilk@x.org
  - name: Alice Ng
    aliases: [alice]
    email: alice@x.org
"""


def git(root: Path, *args: str, who: tuple[str, str] | None = None) -> None:
    """Run git in ``root``, committing as ``who`` (name, email) when given."""
    ident = ["-c", f"user.name={who[0]}", "-c", f"user.email={who[1]}"] if who else []
    subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *ident, "-C", str(root),
                    *args], check=True, capture_output=True, text=True)


def commit_all(root: Path, message: str, who: tuple[str, str]) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, who=who)


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def doc_authors(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Source -> the document-level authors every chunk of it carries."""
    out = {}
    for src, chunks in by_source(stored_chunks(settings)).items():
        assert len({c.doc_authors for c in chunks}) == 1
        out[src] = chunks[0].doc_authors
    return out


def test_precedence_ladder(corpus, settings):
    """Each file has every weaker source of authorship too; the strongest one present must win."""
    git(corpus, "init", "-q")
    byline = "_Written by Bea Byline_\n\n"
    write(corpus, "fm.md", "---\nauthors: [Fran Front]\n---\n# FM\n\n" + byline + "Front matter wins here.\n")
    write(corpus, "byline.md", "# Byline\n\n" + byline + "The byline wins here.\n")
    write(corpus, "sidecar.md", "# Sidecar\n\nThe sidecar wins here.\n")
    write(corpus, "gitonly.md", "# Git\n\nOnly git knows who wrote this.\n")
    write_json(corpus, "thread.json", {"messages": [
        {"author": "Mia Message", "text": "Senders win for threads."},
        {"author": "Sam Sender", "text": "Even over the sidecar."},
        {"author": "Mia Message", "text": "Mia wrote the most."},
    ]})
    write_json(corpus, "AUTHORS.json", {
        p: {"authors": ["Sid Car"], "date": "2021-06-01", "source_url": f"https://wiki.x.org/{p}"}
        for p in ("fm.md", "byline.md", "sidecar.md", "thread.json")
    })
    commit_all(corpus, "pages", who=("Gil Git", "gil@x.org"))

    summary = ingest(corpus, settings)

    assert summary.failed == []
    assert doc_authors(settings) == {
        "thread.json": ("Mia Message", "Sam Sender"),
        "fm.md": ("Fran Front",),
        "byline.md": ("Bea Byline",),
        "sidecar.md": ("Sid Car",),
        "gitonly.md": ("Gil Git",),
    }
    chunks = by_source(stored_chunks(settings))
    # The sidecar's date and URL still apply where its authors lost to a stronger source.
    assert chunks["sidecar.md"][0].date == "2021-06-01"
    assert chunks["byline.md"][0].url == "https://wiki.x.org/byline.md"
    assert chunks["thread.json"][0].url == "https://wiki.x.org/thread.json"


def test_byline_forms(corpus, settings):
    write(corpus, "a.md", "# A\n\n*Authors: Ann Lee and Bob Stone*\n\nText of a.\n")
    write(corpus, "b.md", "# B\n\nMaintained by: Cara Diaz, Dan Fox\n\nText of b.\n")
    ingest(corpus, settings)
    assert doc_authors(settings) == {"a.md": ("Ann Lee", "Bob Stone"), "b.md": ("Cara Diaz", "Dan Fox")}


def test_git_history_ranks_by_lines_and_ignores_bots_and_bulk_commits(corpus, tmp_path):
    settings = Settings(embedder="hashing", data_dir=tmp_path / "data", git_bulk_commit_files=5)
    git(corpus, "init", "-q")
    page = write(corpus, "page.md", "# Page\n\n" + "".join(f"Alice wrote line {i}.\n" for i in range(12)))
    commit_all(corpus, "first draft", who=("Alice Ng", "alice@x.org"))
    append(page, "\n## Bob part\n\n" + "".join(f"Bob wrote line {i}.\n" for i in range(4)))
    commit_all(corpus, "bob's section", who=("Bob Stone", "bob@x.org"))
    # A bulk commit (reformat touching many files) adds the most lines, and still earns no credit.
    for i in range(6):
        write(corpus, f"other{i}.md", f"# Other {i}\n\nFiller {i}.\n")
    append(page, "\n## Reformatted\n\n" + "".join(f"Bulk line {i}.\n" for i in range(40)))
    commit_all(corpus, "reformat everything", who=("Carol Bulk", "carol@x.org"))
    append(page, "\n## Bumped\n\n" + "".join(f"Bot line {i}.\n" for i in range(40)))
    commit_all(corpus, "bump deps", who=("dependabot[bot]", "bot@x.org"))

    summary = ingest(corpus, settings)

    assert summary.failed == []
    page_chunks = by_source(stored_chunks(settings))["page.md"]
    assert page_chunks[0].doc_authors == ("Alice Ng", "Bob Stone")
    credited = {a for c in page_chunks for a in c.authors}
    assert credited == {"Alice Ng", "Bob Stone"}
    # Chunk-level credit follows the lines (git blame): Bob's section is Bob's first.
    bob = [c for c in page_chunks if "Bob wrote line" in c.text]
    alice = [c for c in page_chunks if "Alice wrote line" in c.text]
    assert bob and all(c.authors[0] == "Bob Stone" for c in bob)
    assert alice and all(c.authors[0] == "Alice Ng" for c in alice)
    assert page_chunks[0].date is not None


def test_git_aliases_merge_before_ranking(corpus, settings):
    """Lines written under two spellings of one person add up to one ranked person."""
    git(corpus, "init", "-q")
    write(corpus, "people.yaml", PEOPLE)
    page = write(corpus, "page.md", "# Page\n\n" + "".join(f"Alice line {i}.\n" for i in range(10)))
    commit_all(corpus, "a", who=("Alice Ng", "alice@x.org"))
    append(page, "".join(f"Tomasz line {i}.\n" for i in range(7)))
    commit_all(corpus, "b", who=("twilk", "tomasz.wilk@x.org"))
    append(page, "".join(f"More Tomasz line {i}.\n" for i in range(7)))
    commit_all(corpus, "c", who=("Tomasz Wilk", "tomasz.wilk@x.org"))

    ingest(corpus, settings)

    assert doc_authors(settings)["page.md"] == ("Tomasz Wilk", "Alice Ng")


def test_people_directory_merges_aliases_and_emails(corpus, settings):
    write(corpus, "people.yaml", PEOPLE)
    write(corpus, "fm.md", "---\nauthors: [Tom W, \"T. Wilk <tomasz.wilk@x.org>\", tomasz]\n---\nOne person.\n")
    write(corpus, "byline.md", "# B\n\n_Written by twilk and alice_\n\nBody.\n")
    write(corpus, "page.html", '<html><head><meta name="author" content="Tom W"></head><body><p>Hi.</p></body></html>')
    write_json(corpus, "AUTHORS.json", {"side.md": {"authors": ["tomasz.wilk@x.org", "Alice Ng"]}})
    write(corpus, "side.md", "# Side\n\nSidecar credited.\n")
    write_json(corpus, "chat.json", {"messages": [
        {"from": "Tomasz Wilk <tomasz.wilk@x.org>", "text": "first"},
        {"user": "tomasz", "text": "second"},
        {"sender": {"name": "Tom W", "email": "tomasz.wilk@x.org"}, "text": "third"},
    ]})
    write(corpus, "mail.eml", "From: T. Wilk <tomasz.wilk@x.org>\nSubject: Hi\nMessage-ID: <e1@x.org>\n"
                              "Date: Mon, 1 Jan 2024 10:00:00 +0000\n\nHello from mail.\n")
    write_json(corpus, "slack/users.json", [
        {"id": "U9", "name": "tw", "profile": {"real_name": "T Wilk", "email": "tomasz.wilk@x.org"}}])
    write_json(corpus, "slack/channels.json", [{"id": "C1", "name": "general"}])
    write_json(corpus, "slack/general/2024-01-01.json", [{"type": "message", "user": "U9", "text": "hello",
                                                          "ts": "1704103200.000100"}])

    summary = ingest(corpus, settings)

    assert summary.failed == []
    authors = doc_authors(settings)
    assert authors["fm.md"] == ("Tomasz Wilk",)
    assert authors["byline.md"] == ("Tomasz Wilk", "Alice Ng")
    assert authors["page.html"] == ("Tomasz Wilk",)
    assert authors["side.md"] == ("Tomasz Wilk", "Alice Ng")
    assert authors["chat.json"] == ("Tomasz Wilk",)
    assert authors["mail.eml"] == ("Tomasz Wilk",)
    assert authors["slack/general/2024-01-01.json"] == ("Tomasz Wilk",)
    chat = by_source(stored_chunks(settings))["chat.json"]
    assert {m.author for c in chat for m in c.messages} == {"Tomasz Wilk"}


def test_editing_people_yaml_recredits_without_touching_files(corpus, settings):
    write(corpus, "people.yaml", "people:\n  - name: Ann Lee\n")
    write(corpus, "a.md", "---\nauthors: [annie]\n---\nAnnie wrote this.\n")
    ingest(corpus, settings)
    assert doc_authors(settings)["a.md"] == ("annie",)

    write(corpus, "people.yaml", "people:\n  - name: Ann Lee\n    aliases: [annie]\n")
    summary = ingest(corpus, settings)

    assert summary.replaced == 1
    assert doc_authors(settings)["a.md"] == ("Ann Lee",)


@pytest.mark.parametrize("front", ["authors: Ann Lee, Bob Stone", "author: Ann Lee; Bob Stone",
                                   "authors:\n  - Ann Lee\n  - Bob Stone"], ids=["comma", "semicolon", "yaml-list"])
def test_front_matter_author_spellings(corpus, settings, front):
    write(corpus, "a.md", f"---\n{front}\n---\nText.\n")
    ingest(corpus, settings)
    assert doc_authors(settings)["a.md"] == ("Ann Lee", "Bob Stone")


def test_moved_files_keep_their_authors(corpus, tmp_path):
    """Moving pages (one file, or a whole folder in a bulk commit) does not erase who wrote them."""
    settings = Settings(embedder="hashing", data_dir=tmp_path / "data", git_bulk_commit_files=5)
    git(corpus, "init", "-q")
    write(corpus, "old/single.md", "# Single\n\n" + "".join(f"Alice line {i}.\n" for i in range(5)))
    commit_all(corpus, "single page", who=("Alice Ng", "alice@x.org"))
    for i in range(6):
        write(corpus, f"team/page{i}.md", f"# Page {i}\n\nBob wrote page {i}.\n")
        commit_all(corpus, f"bob {i}", who=("Bob Stone", "bob@x.org"))
    (corpus / "new").mkdir()
    git(corpus, "mv", "old/single.md", "new/single.md")
    commit_all(corpus, "move one page", who=("Dan Mover", "dan@x.org"))
    git(corpus, "mv", "team", "handbook")
    commit_all(corpus, "reorganise the wiki", who=("Carol Bulk", "carol@x.org"))

    summary = ingest(corpus, settings)

    assert summary.failed == []
    authors = doc_authors(settings)
    assert authors["new/single.md"] == ("Alice Ng",)
    for i in range(6):
        assert authors[f"handbook/page{i}.md"] == ("Bob Stone",)


def test_uncommitted_lines_credit_nobody_new(corpus, settings):
    """Lines edited in the work tree but not committed are not credited to 'Not Committed Yet'."""
    git(corpus, "init", "-q")
    page = write(corpus, "page.md", "# Page\n\n" + "".join(f"Alice line {i}.\n" for i in range(5)))
    commit_all(corpus, "a", who=("Alice Ng", "alice@x.org"))
    append(page, "\n## Draft\n\n" + "".join(f"Uncommitted draft line {i}.\n" for i in range(30)))
    write(corpus, "moved-not-committed.md", "# Fresh\n\nNot in git at all.\n")

    summary = ingest(corpus, settings)

    assert summary.failed == []
    chunks = stored_chunks(settings)
    credited = {a for c in chunks for a in (*c.authors, *c.doc_authors)}
    assert credited == {"Alice Ng"}


def test_html_meta_author_in_either_attribute_order(corpus, settings):
    write(corpus, "a.html", '<html><head><meta content="Ann Lee" name="author"></head><body><p>A.</p></body></html>')
    write(corpus, "b.html", "<html><head><META NAME='Author' CONTENT='Bob Stone and Cara Diaz'></head>"
                            "<body><p>B.</p></body></html>")
    ingest(corpus, settings)
    assert doc_authors(settings) == {"a.html": ("Ann Lee",), "b.html": ("Bob Stone", "Cara Diaz")}

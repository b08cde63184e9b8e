"""Office and other document formats: text through unstructured, authors and dates from the file's metadata.

Each fixture is written here in its format's real structure (python-pptx, openpyxl, an EPUB's OPF package,
an ODT's meta.xml, RTF's info group, PDF Info via matplotlib)."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest

from ingest.pipeline import IngestSummary, ingest
from rag.types import Chunk
from tests.ingest.helpers import by_source, stored_chunks, write


def _pptx(root: Path) -> None:
    from pptx import Presentation

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Quarterly on-call review"
    slide.placeholders[1].text = "Pages fell by a third after the alert clean-up."
    deck.core_properties.author = "Dana Kim"
    deck.core_properties.title = "On-call review Q3"
    deck.core_properties.modified = dt.datetime(2024, 10, 2, 9, 0)
    (root / "decks").mkdir()
    deck.save(str(root / "decks" / "oncall.pptx"))


def _xlsx(root: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Escalation"
    for row in (["Service", "Primary", "Secondary"], ["billing", "Ann Lee", "Bob Stone"],
                ["routing", "Chen Wu", "Dana Kim"]):
        ws.append(row)
    wb.properties.creator = "Chen Wu"
    wb.properties.title = "Escalation matrix"
    wb.properties.modified = dt.datetime(2024, 6, 1, 12, 0)
    (root / "sheets").mkdir()
    saved = root / "sheets" / "saved.xlsx"
    wb.save(str(saved))
    # openpyxl stamps "modified" with the time of saving; write the date a real workbook would carry.
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(root / "sheets" / "escalation.xlsx", "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-06-01T12:00:00Z", data)
            dst.writestr(item, data)
    saved.unlink()


def _epub(root: Path) -> None:
    path = root / "books" / "handbook.epub"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" '
                   'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                   '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                   '</rootfiles></container>')
        z.writestr("OEBPS/content.opf", '<?xml version="1.0" encoding="UTF-8"?>'
                   '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
                   '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:x</dc:identifier>'
                   '<dc:title>Engineering handbook</dc:title><dc:creator id="c1">Elena Petrova</dc:creator>'
                   '<dc:creator>Oliver Grant</dc:creator><dc:date>2023-09-01</dc:date><dc:language>en</dc:language>'
                   '</metadata><manifest><item id="ch1" href="ch1.xhtml" media-type="application/xhtml+xml"/>'
                   '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
                   '</manifest><spine><itemref idref="ch1"/></spine></package>')
        z.writestr("OEBPS/nav.xhtml", '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml" '
                   'xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol><li>'
                   '<a href="ch1.xhtml">Reviews</a></li></ol></nav></body></html>')
        z.writestr("OEBPS/ch1.xhtml", '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head>'
                   '<title>Reviews</title></head><body><h1>Code review</h1><p>Every change needs one approving '
                   'review from an owner of the code it touches.</p></body></html>')


def _odt(root: Path) -> None:
    path = root / "docs" / "travel.odt"
    path.parent.mkdir()
    office = 'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest:manifest '
                   'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                   '<manifest:file-entry manifest:full-path="/" '
                   'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
                   '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                   '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>'
                   '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
                   '</manifest:manifest>')
        z.writestr("content.xml", f'<?xml version="1.0"?><office:document-content {office} '
                   'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
                   '<office:body><office:text><text:h text:outline-level="1">Travel policy</text:h>'
                   '<text:p>Trains are booked for trips under four hours.</text:p></office:text></office:body>'
                   '</office:document-content>')
        z.writestr("styles.xml", f'<?xml version="1.0"?><office:document-styles {office} office:version="1.2">'
                   '<office:styles/></office:document-styles>')
        z.writestr("meta.xml", f'<?xml version="1.0"?><office:document-meta {office} '
                   'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
                   'xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.2"><office:meta>'
                   '<meta:initial-creator>Grace Kim</meta:initial-creator><dc:creator>Grace Kim</dc:creator>'
                   '<dc:title>Travel policy</dc:title><dc:date>2022-04-05T10:00:00</dc:date>'
                   '</office:meta></office:document-meta>')


def _pdf(root: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    (root / "pdf").mkdir()
    meta = {"Title": "Data retention standard", "Author": "Mei Lin Chen; Tomasz Wilk",
            "ModDate": dt.datetime(2025, 1, 20, tzinfo=dt.UTC)}
    with PdfPages(root / "pdf" / "retention.pdf", metadata=meta) as pdf:
        fig = plt.figure(figsize=(8.5, 11))
        fig.text(0.05, 0.97, "CONFIDENTIAL - DRAFT 3", fontsize=7)  # a margin stamp, not the title
        fig.text(0.1, 0.8, "Customer invoices are kept for seven years, then deleted.", fontsize=10)
        pdf.savefig(fig)
        plt.close(fig)


def _text_formats(root: Path) -> None:
    write(root, "rtf/memo.rtf", r"{\rtf1\ansi{\info{\title Parking memo}{\author Ben Carter}"
                                r"{\creatim\yr2021\mo11\dy3}}\pard Visitors park on level two.\par}")
    write(root, "tables/owners.csv", "service,owner,team\nbilling,Ann Lee,Payments\nrouting,Chen Wu,Logistics\n")
    write(root, "tables/owners.tsv", "service\towner\nledger\tBob Stone\n")
    write(root, "org/notes.org", "#+TITLE: Backup notes\n#+AUTHOR: Sofia Rossi\n#+DATE: 2020-02-02\n\n"
                                 "* Restores\nRestores are tested on the first Monday of each month.\n")
    write(root, "wiki/Deploy.mediawiki", "== Deploying ==\nUse '''deployctl''' from the [[Bastion host|bastion]]."
                                         "\n\nSee [https://wiki.example/rollback the rollback page].\n")
    write(root, "wiki/standup.textile", "h1. Standup\n\nStandup is at 9:15 in the *blue* room.\n")
    write(root, "wiki/intro.mdx", "---\ntitle: Intro\nauthors: [Ann Lee]\n---\nimport Note from './note'\n\n"
                                  "# Welcome\n\nThe MDX page still reads as Markdown.\n")


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> tuple[IngestSummary, dict[str, list[Chunk]]]:
    from rag.config import Settings

    root = tmp_path_factory.mktemp("office")
    for build in (_pptx, _xlsx, _epub, _odt, _pdf, _text_formats):
        build(root)
    settings = Settings(embedder="hashing", data_dir=root.parent / (root.name + "-data"))
    summary = ingest(root, settings)
    return summary, by_source(stored_chunks(settings))


def _doc(office, path: str) -> tuple[str, Chunk]:
    chunks = office[1][path]
    return "\n".join(c.text for c in chunks), chunks[0]


def test_every_office_file_lands(office):
    summary, docs = office
    assert summary.failed == []
    assert len(docs) == 12


@pytest.mark.parametrize(("path", "words", "title", "authors", "date"), [
    ("decks/oncall.pptx", ["Pages fell by a third"], "On-call review Q3", ("Dana Kim",), "2024-10-02"),
    ("sheets/escalation.xlsx", ["| billing | Ann Lee | Bob Stone |", "# Escalation"], "Escalation matrix",
     ("Chen Wu",), "2024-06-01"),
    ("books/handbook.epub", ["one approving review"], "Engineering handbook", ("Elena Petrova", "Oliver Grant"),
     "2023-09-01"),
    ("docs/travel.odt", ["under four hours"], "Travel policy", ("Grace Kim",), "2022-04-05"),
    ("pdf/retention.pdf", ["seven years"], "Data retention standard", ("Mei Lin Chen", "Tomasz Wilk"), "2025-01-20"),
    ("rtf/memo.rtf", ["level two"], "Parking memo", ("Ben Carter",), "2021-11-03"),
    ("org/notes.org", ["first Monday"], "Backup notes", ("Sofia Rossi",), "2020-02-02"),
    ("tables/owners.csv", ["| billing | Ann Lee | Payments |"], "owners", (), None),
    ("tables/owners.tsv", ["| ledger | Bob Stone |"], "owners", (), None),
    ("wiki/Deploy.mediawiki", ["# Deploying", "Use deployctl from the bastion.",
                               "the rollback page (https://wiki.example/rollback)"], "Deploying", (), None),
    ("wiki/standup.textile", ["# Standup", "9:15"], "Standup", (), None),
    ("wiki/intro.mdx", ["still reads as Markdown"], "Intro", ("Ann Lee",), None),
], ids=lambda v: v if isinstance(v, str) and "/" in v else "")
def test_format_text_title_authors_and_date(office, path, words, title, authors, date):
    text, first = _doc(office, path)
    for w in words:
        assert w in text, (w, text)
    assert (first.title, first.doc_authors, first.date) == (title, authors, date)


def test_a_pdf_margin_stamp_is_not_its_title(office):
    _, first = _doc(office, "pdf/retention.pdf")
    assert "CONFIDENTIAL" not in first.title


def test_legacy_doc_fails_with_the_fix(corpus, settings):
    write(corpus, "old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))

    summary = ingest(corpus, settings)

    [fail] = summary.failed
    assert fail.path == "old.doc" and "save it as .docx" in fail.reason

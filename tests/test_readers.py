"""PDF, HTML and DOCX sources: real files made here, indexed and asked about. Every quote must be
the extracted text at its offsets, and PDF citations must name the right page."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import docx
import pytest

from qa.api import Engine
from qa.cite import verify
from qa.config import Settings
from qa.errors import SourceError
from qa.sources.readers import read_source, supported_suffixes
from qa.sources.rich import PAGE_BREAK
from qa.store.chroma import Store
from qa.store.embed import Embedder


def make_pdf(pages: list[list[str]]) -> bytes:
    """A valid PDF with one text line per entry (Helvetica 11 pt, WinAnsi), written by hand:
    catalog, page tree, one font, one content stream per page, and an exact xref table."""
    bodies: list[bytes] = [b"", b""]  # 1: catalog, 2: page tree (filled in below)
    bodies.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                  b"/Encoding /WinAnsiEncoding >>")
    kids = []
    for lines in pages:
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("cp1252")
        bodies.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        bodies.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                      b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % len(bodies))
        kids.append(len(bodies))
    bodies[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    bodies[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1, xref)
    return bytes(out)


PDF_PAGES = [
    [
        "Annual Report of the Danube Shipping Commission",
        "The Danube Shipping Commission met in Vienna in March to review the",
        "season. Delegates from nine member countries attended the meeting and",
        "approved a new budget of twelve million euros for dredging the river.",
        "",
        "Low water in the summer months had stranded barges near Belgrade for",
        "several weeks.",
    ],
    [
        "The commission set the maximum barge draught at 2.5 metres for the autumn.",
        "Next year the commission will meet in Budapest.",
    ],
]

HTML = """<!doctype html>
<html><head><title>Lighthouse keepers</title>
<style>p { color: #333 }</style>
<script>var secret = "zanzibar marmalade recipe"; document.write(secret);</script>
</head>
<body>
<h1>The lighthouse of Fastnet</h1>
<p>The Fastnet lighthouse stands on a rock off the southern coast of Ireland.
The Fastnet lighthouse was completed in 1904 after seven years of work</p>
<div>Its light can be seen from 27 nautical miles away</div>
<ul><li>Keepers left the rock in 1989</li><li>The light is now automatic</li></ul>
<p style="display:none">A hidden note about penguin husbandry.</p>
<script>console.log("another zanzibar script");</script>
</body></html>
"""


def make_docx(path: Path) -> None:
    d = docx.Document()
    d.add_heading("Orchard notes", level=1)
    d.add_paragraph("The old orchard behind the mill has forty-two apple trees. "
                    "Most of them are of the Bramley variety.")
    d.add_paragraph("Harvest usually begins in the second week of September.")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Variety"
    table.cell(0, 1).text = "Trees"
    table.cell(1, 0).text = "Bramley"
    table.cell(1, 1).text = "31"
    d.save(str(path))


@pytest.fixture
def seeds(seeds_dir: Path) -> Path:
    """conftest's seeds/ (the seed article) plus a PDF, an HTML page and a Word file."""
    (seeds_dir / "report.pdf").write_bytes(make_pdf(PDF_PAGES))
    (seeds_dir / "fastnet.html").write_text(HTML, encoding="utf-8")
    make_docx(seeds_dir / "orchard.docx")
    return seeds_dir


def new_engine(embedder: Embedder) -> Engine:
    settings = Settings.from_env()
    return Engine(settings, Store.open(settings.index_dir, settings.chroma_url), embedder)


@pytest.fixture
def rich_engine(seeds: Path, embedder: Embedder) -> Engine:
    e = new_engine(embedder)
    e.refresh()
    return e


def assert_exact(seeds: Path, answer) -> None:  # type: ignore[no-untyped-def]
    assert answer.supported, answer.text
    assert answer.citations
    for c in answer.citations:
        text = read_source(seeds / c.source, c.source).text
        assert text[c.start : c.end] == c.quote
    assert [check.status for check in verify(answer, seeds)] == ["ok"] * len(answer.citations)


def test_the_new_formats_are_registered() -> None:
    assert {".pdf", ".html", ".htm", ".docx", ".txt", ".md"} <= set(supported_suffixes())


def test_pdf_text_pages_and_reflow(seeds: Path) -> None:
    doc = read_source(seeds / "report.pdf")
    assert len(doc.page_starts) == 1
    page2 = doc.page_starts[0]
    assert doc.text[page2 - len(PAGE_BREAK) : page2] == PAGE_BREAK
    assert doc.text[page2:].startswith("The commission set the maximum barge draught")
    # a sentence the PDF wrapped over three lines is one line of the extracted text
    assert ("Delegates from nine member countries attended the meeting and approved a new budget "
            "of twelve million euros for dredging the river.") in doc.text
    # a heading keeps its own line
    assert doc.text.startswith("Annual Report of the Danube Shipping Commission\n")
    assert doc.page_of(0) == 1 and doc.page_of(page2) == 2
    assert doc.warnings == ()


def test_html_keeps_visible_text_only(seeds: Path) -> None:
    text = read_source(seeds / "fastnet.html").text
    assert "zanzibar" not in text and "color" not in text and "penguin" not in text
    assert "Lighthouse keepers" not in text  # <title> is not shown in the page
    lines = text.split("\n")
    assert lines[0] == "The lighthouse of Fastnet"
    # blocks do not run into each other, inline line breaks collapse to spaces
    assert ("The Fastnet lighthouse stands on a rock off the southern coast of Ireland. "
            "The Fastnet lighthouse was completed in 1904 after seven years of work") in lines
    assert "Its light can be seen from 27 nautical miles away" in lines
    assert "Keepers left the rock in 1989" in lines and "The light is now automatic" in lines


def test_docx_paragraphs_and_tables(seeds: Path) -> None:
    text = read_source(seeds / "orchard.docx").text
    assert text.startswith("Orchard notes\nThe old orchard behind the mill has forty-two apple")
    assert "\n\nHarvest usually begins in the second week of September.\n\n" in text
    assert text.endswith("Variety\tTrees\nBramley\t31")


def test_pdf_answer_cites_page_two(rich_engine: Engine, seeds: Path) -> None:
    a = rich_engine.answer("What is the maximum barge draught for the autumn?")
    assert_exact(seeds, a)
    assert "2.5 metres" in a.text
    c = a.citations[0]
    assert c.source == "report.pdf" and c.page == 2


def test_pdf_answer_cites_page_one(rich_engine: Engine, seeds: Path) -> None:
    a = rich_engine.answer("How large was the new budget for dredging?")
    assert_exact(seeds, a)
    assert "twelve million euros" in a.text
    assert a.citations[0].page == 1


def test_pdf_page_is_right_when_a_chunk_spans_two_pages(seeds: Path, embedder: Embedder) -> None:
    # A short first page and the second page fall into one chunk; the page of the quote, not of
    # the chunk's start, must be cited.
    (seeds / "appendix.pdf").write_bytes(make_pdf([
        ["Appendix B", "Notes on the locks."],
        ["Inspectors will check every vessel at the lock of Iron Gate before it passes."],
    ]))
    e = new_engine(embedder)
    e.refresh()
    doc = read_source(seeds / "appendix.pdf")
    [chunk] = [c for c in e.store.all_chunks() if c.source == "appendix.pdf"]
    assert chunk.start < doc.page_starts[0] < chunk.end and chunk.page == 1
    a = e.answer("Where will inspectors check every vessel?")
    assert_exact(seeds, a)
    assert "Iron Gate" in a.text
    assert (a.citations[0].source, a.citations[0].page) == ("appendix.pdf", 2)


def test_html_answer_quotes_extracted_text(rich_engine: Engine, seeds: Path) -> None:
    a = rich_engine.answer("When was the Fastnet lighthouse completed?")
    assert_exact(seeds, a)
    assert "1904" in a.text and a.citations[0].source == "fastnet.html"
    assert a.citations[0].page is None
    assert all("zanzibar" not in c.text for c in rich_engine.store.all_chunks())


def test_docx_answer_quotes_extracted_text(rich_engine: Engine, seeds: Path) -> None:
    a = rich_engine.answer("How many apple trees does the old orchard have?")
    assert_exact(seeds, a)
    assert "forty-two" in a.text and a.citations[0].source == "orchard.docx"


def test_corrupt_files_are_skipped_with_a_warning_naming_them(seeds: Path, embedder: Embedder) -> None:
    good = make_pdf(PDF_PAGES)
    (seeds / "truncated.pdf").write_bytes(good[: len(good) // 3])
    (seeds / "garbage.pdf").write_bytes(b"this is not a pdf at all")
    (seeds / "broken.docx").write_bytes(b"PK\x03\x04 not a zip archive")
    e = new_engine(embedder)
    report = e.refresh()
    assert report.files_skipped == 3 and report.files_indexed == 4
    for name in ("truncated.pdf", "garbage.pdf", "broken.docx"):
        assert any(w.startswith(f"{name}: ") for w in report.warnings), report.warnings
    assert {c.source for c in e.store.all_chunks()} == {
        "report.pdf", "fastnet.html", "orchard.docx", "000_7383d27b375f9d56.txt"}
    with pytest.raises(SourceError, match=r"^garbage\.pdf: not a PDF file"):
        read_source(seeds / "garbage.pdf")
    with pytest.raises(SourceError, match=r"^truncated\.pdf: "):
        read_source(seeds / "truncated.pdf")
    a = e.answer("What is the maximum barge draught for the autumn?")
    assert_exact(seeds, a)


def test_scanned_pdf_without_text_says_so(seeds: Path) -> None:
    (seeds / "scan.pdf").write_bytes(make_pdf([[], []]))
    with pytest.raises(SourceError, match=r"^scan\.pdf: no text could be extracted.*OCR"):
        read_source(seeds / "scan.pdf")


def test_cli_prints_the_page_and_verify_accepts_the_saved_answer(
        rich_engine: Engine, seeds: Path, tmp_path: Path) -> None:
    env_run = [sys.executable, "-m", "qa"]
    shown = subprocess.run([*env_run, "ask", "What is the maximum barge draught for the autumn?"],
                           capture_output=True, text=True, check=True)
    assert "report.pdf, page 2, line" in shown.stdout
    saved = subprocess.run([*env_run, "ask", "--json", "When was the Fastnet lighthouse completed?"],
                           capture_output=True, text=True, check=True)
    answer_file = tmp_path / "answer.json"
    answer_file.write_text(saved.stdout)
    assert json.loads(saved.stdout)["citations"][0]["source"] == "fastnet.html"
    checked = subprocess.run([*env_run, "verify", str(answer_file)], capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "[1] fastnet.html: ok" in checked.stdout
    # the page changes: verify notices
    (seeds / "fastnet.html").write_text(HTML.replace("1904", "1905"), encoding="utf-8")
    checked = subprocess.run([*env_run, "verify", str(answer_file)], capture_output=True,
                             text=True)
    assert checked.returncode == 1 and "quote not found" in checked.stdout

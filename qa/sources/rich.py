"""Readers for documents that are not plain text: PDF (pypdf), HTML (BeautifulSoup), Word .docx
(python-docx). Each returns the *extracted text*; every offset `qa` stores or cites points into it,
and `verify` re-extracts it the same way, so a quote is always `text[start:end]` of that text.

How the text is laid out, so sentences and chunks come out right:
- PDF: pages are separated by "\\f\\n\\n" (a form feed, then a paragraph break), so a chunk or a
  quote can tell which page it is on; `page_starts` lists where pages 2, 3, ... begin. Lines that
  the PDF wrapped in the middle of a sentence are joined with a space (a hyphen at a line end is
  kept and the word joined) so that a sentence is not cut in two. Scanned PDFs without a text
  layer give no text and are skipped with a warning that says so.
- HTML: only what a browser shows: <head>, <script>, <style>, <template>, <noscript>, comments and
  elements marked `hidden` or `display:none` are dropped. Block elements (p, div, li, h1-h6, tr,
  br, ...) end a line; paragraphs, lists and tables are separated by a blank line; a heading is
  kept on the line just above its text. Runs of spaces collapse to one, as a browser does;
  <pre> keeps its own line breaks.
- DOCX: paragraphs in document order, separated by a blank line (a heading by one line break, so
  it stays with its text); tables row by row, cells separated by a tab.

A file these libraries cannot parse raises `SourceError`; the indexer skips it with a warning that
names it and indexes the rest.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qa.errors import SourceError
from qa.sources.source_text import SourceText, sha256_bytes

PAGE_BREAK = "\f\n\n"  # between the pages of a PDF; "\f" marks the break, "\n\n" ends the paragraph

# ---------------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------------
_pypdf_log_lock = threading.Lock()
_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’)\]]*$")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def read_pdf(path: Path, data: bytes) -> SourceText:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise SourceError("not a PDF file (it does not start with %PDF); fix or remove it")
    log = logging.getLogger("pypdf")
    collect = _Collect()
    with _pypdf_log_lock:  # pypdf reports repairs of damaged files through logging; keep them
        log.addHandler(collect)
        propagate, log.propagate = log.propagate, False
        try:
            pdf = PdfReader(io.BytesIO(data))
            if pdf.is_encrypted and not pdf.decrypt(""):
                raise SourceError("the PDF is password-protected; save an unprotected copy")
            pages = [_reflow(page.extract_text() or "") for page in pdf.pages]
        except PdfReadError as exc:
            raise SourceError(f"not a readable PDF ({exc}); fix or remove the file") from None
        finally:
            log.removeHandler(collect)
            log.propagate = propagate
    if not any(p.strip() for p in pages):
        raise SourceError(f"no text could be extracted from its {len(pages)} page(s): it is "
                          "probably scanned images; run OCR on it first (e.g. ocrmypdf)")
    text_parts: list[str] = []
    page_starts: list[int] = []
    at = 0
    for i, page in enumerate(pages):
        if i:
            text_parts.append(PAGE_BREAK)
            at += len(PAGE_BREAK)
            page_starts.append(at)
        text_parts.append(page)
        at += len(page)
    notes: tuple[str, ...] = ()
    if collect.messages:
        notes = (f"{path.name}: the PDF is damaged; pypdf repaired it and its text may be "
                 f"incomplete ({collect.messages[0]})",)
    return SourceText(text="".join(text_parts), sha256=sha256_bytes(data),
                      page_starts=tuple(page_starts), warnings=notes)


def _reflow(page: str) -> str:
    """Joins lines that the PDF wrapped mid-sentence; keeps line breaks after headings, list items
    and sentence ends, and blank lines. Form feeds are reserved for page breaks."""
    lines = [ln.rstrip() for ln in page.replace("\f", "\n").replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    if not lines:
        return ""
    full = 0.7 * max(len(ln) for ln in lines)
    out = [lines[0]]
    for line in lines[1:]:
        prev = out[-1]
        stripped = line.lstrip()
        joinable = (prev and stripped and not _SENTENCE_END.search(prev)
                    and (stripped[0].islower() or (len(prev) >= full and stripped[0].isalnum())))
        if joinable and prev.endswith("-") and stripped[0].islower():
            out[-1] = prev + stripped  # "well-" + "known": keep the hyphen, no space
        elif joinable:
            out[-1] = prev + " " + stripped
        else:
            out.append(line)
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------
_DROP = frozenset("head script style template noscript title meta link iframe object embed canvas "
                  "svg math audio video map area select datalist".split())
_PARAGRAPH = frozenset("p ul ol dl table blockquote pre section article header footer nav aside "
                       "main figure form fieldset address details hr h1 h2 h3 h4 h5 h6".split())
_LINE = frozenset("div li dt dd tr br caption figcaption summary legend option label "
                  "tbody thead tfoot".split())
_CELL = frozenset("td th".split())
_HEADING = frozenset("h1 h2 h3 h4 h5 h6".split())
_HIDDEN_STYLE = re.compile(r"(display\s*:\s*none|visibility\s*:\s*hidden)", re.I)
_SPACES = re.compile(r"\s+")

# break levels between pieces of text
_CELL_BREAK, _LINE_BREAK, _PARA_BREAK = 1, 2, 3
_AFTER_HEADING = 4  # a marker: the break that follows is at most a line break
_BREAK_TEXT = {_CELL_BREAK: "\t", _LINE_BREAK: "\n", _PARA_BREAK: "\n\n"}


def read_html(path: Path, data: bytes) -> SourceText:
    from bs4 import BeautifulSoup

    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError("looks like a binary file (it contains NUL bytes), not HTML; "
                          "remove it from seeds/")
    with warnings.catch_warnings():  # bs4 warns about odd input (e.g. XML parsed as HTML)
        warnings.simplefilter("ignore")
        soup = BeautifulSoup(data, "html.parser")
    root = soup.body or soup
    text = _join(_walk(root, pre=False))
    return SourceText(text=text, sha256=sha256_bytes(data))


def _walk(node: Any, pre: bool) -> Iterator[str | int]:
    from bs4 import Comment, NavigableString, Tag
    from bs4.element import Declaration, Doctype, ProcessingInstruction

    for child in node.children:
        if isinstance(child, (Comment, Doctype, Declaration, ProcessingInstruction)):
            continue
        if isinstance(child, NavigableString):
            s = str(child)
            yield s if pre else _SPACES.sub(" ", s)
            continue
        if not isinstance(child, Tag):
            continue
        name = (child.name or "").lower()
        if name in _DROP or _hidden(child):
            continue
        level = (_PARA_BREAK if name in _PARAGRAPH else _LINE_BREAK if name in _LINE
                 else _CELL_BREAK if name in _CELL else 0)
        if name == "br":
            yield "\n" if pre else _LINE_BREAK
            continue
        if level:
            yield level
        yield from _walk(child, pre or name in ("pre", "textarea"))
        if name in _HEADING:
            yield _AFTER_HEADING
        elif level:
            yield level


def _hidden(tag: Any) -> bool:
    attrs = tag.attrs or {}
    if "hidden" in attrs:
        return True
    if tag.name == "input" and str(attrs.get("type", "")).lower() == "hidden":
        return True
    style = attrs.get("style")
    return bool(style and _HIDDEN_STYLE.search(str(style)))


def _join(pieces: Iterator[str | int]) -> str:
    """Text pieces and break levels -> text. Consecutive breaks merge into the strongest one
    (capped at a line break right after a heading); spaces next to a break are dropped."""
    out: list[str] = []
    pending = 0
    after_heading = False
    for piece in pieces:
        if isinstance(piece, int):
            after_heading = after_heading or piece == _AFTER_HEADING
            pending = max(pending, min(piece, _PARA_BREAK))
            continue
        if pending:
            piece = piece.lstrip(" ")
            if not piece:
                continue  # the break waits for real text
            if out:
                out[-1] = out[-1].rstrip(" ")
                out.append(_BREAK_TEXT[min(pending, _LINE_BREAK) if after_heading else pending])
            pending, after_heading = 0, False
        elif out and out[-1].endswith(" ") and piece.startswith(" "):
            piece = piece.lstrip(" ")
            if not piece:
                continue
        out.append(piece)
    return "".join(out).strip()


# ---------------------------------------------------------------------------------------------
# DOCX
# ---------------------------------------------------------------------------------------------
def read_docx(path: Path, data: bytes) -> SourceText:
    import zipfile

    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SourceError(f"not a valid .docx file ({type(exc).__name__}: {exc}); open and "
                          "re-save it in Word, or remove it") from None
    blocks: list[tuple[str, bool]] = []  # text, is_heading
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text.strip()
            if text:
                style = (item.style.name if item.style is not None else "") or ""
                blocks.append((text, style.startswith(("Heading", "Title"))))
        elif isinstance(item, Table):
            rows = []
            for row in item.rows:
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) in seen:  # a merged cell appears once per grid column
                        continue
                    seen.add(id(cell._tc))
                    cells.append(" ".join(cell.text.split()))
                if any(cells):
                    rows.append("\t".join(cells))
            if rows:
                blocks.append(("\n".join(rows), False))
    parts: list[str] = []
    for i, (text, heading) in enumerate(blocks):
        if i:
            parts.append("\n" if blocks[i - 1][1] else "\n\n")
        parts.append(text)
    return SourceText(text="".join(parts), sha256=sha256_bytes(data))

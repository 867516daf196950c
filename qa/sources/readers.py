"""Source files -> source text. The text returned here is what every offset in `qa` points into.

.txt and .md files are their UTF-8 text, unchanged (a byte-order mark is dropped; a file in another
encoding is decoded with a fallback and a warning). Other formats have a reader (`qa.sources.rich`)
that extracts text; a reader may also return page starts so that citations can name a page.
"""

from __future__ import annotations

from pathlib import Path

from qa.errors import SourceError
from qa.sources import rich
from qa.sources.source_text import Reader, SourceText, sha256_bytes


def supported_suffixes() -> tuple[str, ...]:
    return tuple(sorted(_READERS))


def read_source(path: Path, display_name: str | None = None) -> SourceText:
    """Reads one file. Raises SourceError (message names the file) when it cannot be used."""
    name = display_name or path.name
    fn = _READERS.get(path.suffix.lower())
    if fn is None:
        raise SourceError(f"{name}: unsupported file type {path.suffix!r}; supported: "
                          + ", ".join(supported_suffixes()))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if not data.strip():
        raise SourceError(f"{name}: the file is empty; add text to it or remove it")
    try:
        source = fn(path, data)
    except SourceError as exc:
        raise SourceError(f"{name}: {exc}") from None
    except Exception as exc:  # a third-party parser failing on a corrupt file
        raise SourceError(f"{name}: cannot be parsed ({type(exc).__name__}: {exc}); "
                          "fix or remove the file") from None
    if not source.text.strip():
        raise SourceError(f"{name}: no text could be extracted; it is skipped")
    return source


def read_plain_text(path: Path, data: bytes) -> SourceText:
    if b"\x00" in data:  # anywhere, not only in the first 8 KB: a text file has no NUL byte
        raise SourceError("looks like a binary file (it contains NUL bytes), not text; "
                          "remove it from seeds/")
    warnings: tuple[str, ...] = ()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = data.decode("cp1252", errors="replace")
        warnings = (f"{path.name}: not valid UTF-8 (byte {exc.start}); read as Windows-1252. "
                    "Save it as UTF-8 to be sure of the text",)
    return SourceText(text=text, sha256=sha256_bytes(data), warnings=warnings)


_READERS: dict[str, Reader] = {
    ".txt": read_plain_text, ".md": read_plain_text, ".markdown": read_plain_text,
    ".text": read_plain_text,
    ".pdf": rich.read_pdf,
    ".html": rich.read_html, ".htm": rich.read_html, ".xhtml": rich.read_html,
    ".docx": rich.read_docx,
}

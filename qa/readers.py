"""Source files -> source text. The text returned here is what every offset in `qa` points into.

.txt and .md files are their UTF-8 text, unchanged (a byte-order mark is dropped; a file in another
encoding is decoded with a fallback and a warning). Other formats register a reader that extracts
text; a reader may also return page starts so that citations can name a page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import SourceError


@dataclass(frozen=True)
class SourceText:
    text: str
    sha256: str  # of the file's bytes
    page_starts: tuple[int, ...] = ()  # offsets where pages 2, 3, ... begin; empty: not paged
    warnings: tuple[str, ...] = field(default=())

    def page_of(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        return 1 + sum(1 for s in self.page_starts if s <= offset)


Reader = Callable[[Path, bytes], SourceText]
_READERS: dict[str, Reader] = {}


def reader(*suffixes: str) -> Callable[[Reader], Reader]:
    """Registers a reader for file suffixes (lowercase, with the dot)."""

    def register(fn: Reader) -> Reader:
        for suffix in suffixes:
            _READERS[suffix] = fn
        return fn

    return register


def supported_suffixes() -> tuple[str, ...]:
    _load_optional_readers()
    return tuple(sorted(_READERS))


def read_source(path: Path, display_name: str | None = None) -> SourceText:
    """Reads one file. Raises SourceError (message names the file) when it cannot be used."""
    _load_optional_readers()
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


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@reader(".txt", ".md", ".markdown", ".text")
def read_plain_text(path: Path, data: bytes) -> SourceText:
    if b"\x00" in data[:8192]:
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


def _load_optional_readers() -> None:
    """Readers of other formats live in their own module and register on import."""
    try:
        import qa.readers_rich  # noqa: F401  (pdf, html, docx)
    except ModuleNotFoundError as exc:
        if exc.name != "qa.readers_rich":
            raise

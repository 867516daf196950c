"""Citations: exact spans of the source text, and `verify()`, which re-checks saved answers against
the files as they are now."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from qa.errors import SourceError
from qa.sources.readers import read_source
from qa.sources.source_text import SourceText
from qa.sources.spans import line_of
from qa.sources.walk import inside
from qa.types import Answer, Chunk, Citation, CitationCheck

_TRAILING_PUNCT = re.compile(r"[.!?…:;]+[\"'”’)\]]*$")


def citation_for(n: int, chunk: Chunk, start: int, end: int) -> Citation:
    """A citation of source offsets [start, end), which must lie inside `chunk`."""
    if not chunk.start <= start < end <= chunk.end:
        raise ValueError(f"span {start}-{end} is outside chunk {chunk.start}-{chunk.end}")
    local_start, local_end = start - chunk.start, end - chunk.start
    quote = chunk.text[local_start:local_end]
    first = chunk.line + chunk.text.count("\n", 0, local_start)
    # A chunk can run across a page break ("\f", see qa.sources.rich): count the breaks before.
    page = None if chunk.page is None else chunk.page + chunk.text.count("\f", 0, local_start)
    return Citation(
        n=n, source=chunk.source, start=start, end=end, quote=quote, line_start=first,
        line_end=first + quote.count("\n"), sha256=chunk.sha256, page=page)


def with_marker(sentence: str, numbers: Sequence[int]) -> str:
    """'Talks will be in Istanbul.' + [1] -> 'Talks will be in Istanbul [1].'"""
    markers = "".join(f"[{n}]" for n in numbers)
    if not markers:
        return sentence
    m = _TRAILING_PUNCT.search(sentence)
    cut = m.start() if m else len(sentence)
    return f"{sentence[:cut].rstrip()} {markers}{sentence[cut:]}"


def verify(answer: Answer, seeds_dir: Path) -> list[CitationCheck]:
    """Re-reads each cited file: is the quote still at its offsets, elsewhere, or gone?"""
    texts: dict[str, SourceText | None] = {}
    checks = []
    for c in answer.citations:
        if c.source not in texts:
            path = inside(seeds_dir, c.source)  # never a link or `..` out of the folder
            try:
                texts[c.source] = read_source(path, c.source) if path else None
            except SourceError:
                texts[c.source] = None
        doc = texts[c.source]
        if doc is None:
            checks.append(CitationCheck(c.n, c.source, "source missing",
                                        f"{seeds_dir / c.source} is gone or unreadable"))
        elif doc.text[c.start : c.end] == c.quote:
            detail = "" if doc.sha256 == c.sha256 else "the file changed elsewhere"
            checks.append(CitationCheck(c.n, c.source, "ok", detail))
        elif (at := doc.text.find(c.quote)) >= 0:
            checks.append(CitationCheck(
                c.n, c.source, "source changed",
                f"the quote moved to {at}-{at + len(c.quote)} (line {line_of(doc.text, at)})"))
        else:
            checks.append(CitationCheck(c.n, c.source, "quote not found",
                                        "the quoted text is no longer in the file"))
    return checks

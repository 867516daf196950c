"""Files under seeds/ -> chunks with exact character offsets into each file's source text.

A chunk is a run of whole sentences (see `qa.sources.spans`) that stays under the embedding model's limit of
256 word pieces, so no text is ever truncated away. Chunks break preferably at paragraph ends.
A chunk holding a planted instruction (text that orders the assistant or the reader about,
`qa.sources.planted`) is kept like any other and flagged: `Chunk.planted_instructions`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from qa.errors import SourceError
from qa.sources.planted import find_instructions
from qa.sources.readers import supported_suffixes
from qa.sources.source_text import SourceText
from qa.sources.spans import LineIndex, Span, is_heading, sentence_spans
from qa.sources.walk import walk
from qa.types import Chunk

MAX_CHUNK_TOKENS = 200  # word pieces incl. [CLS]/[SEP]; the model's limit is 256
TARGET_CHUNK_TOKENS = 120  # smaller chunks retrieve more precisely
MIN_PARAGRAPH_BREAK_TOKENS = 40  # below this, a paragraph end does not end the chunk

TokenCounter = Callable[[list[str]], list[int]]


@dataclass(frozen=True)
class SeedFile:
    source: str  # relative to seeds/, forward slashes
    path: Path


def discover(seeds_dir: Path) -> tuple[list[SeedFile], list[str]]:
    """Supported files under `seeds_dir` (recursive, hidden files skipped, folder links not
    followed, links out of the folder skipped: `qa.sources.walk`), and warnings for the files
    that are skipped because of their type or where they point."""
    require_folder(seeds_dir)
    suffixes = set(supported_suffixes())
    entries, warnings = walk(seeds_dir)
    files = []
    for e in entries:
        if Path(e.source).suffix.lower() in suffixes:
            files.append(SeedFile(e.source, Path(e.path)))
        else:
            warnings.append(f"{e.source}: skipped, unsupported type "
                            f"(supported: {', '.join(sorted(suffixes))})")
    return files, warnings


def require_folder(seeds_dir: Path) -> None:
    """Raises SourceError when the documents folder is missing (checked before index/ is created
    beside it, so a command run from the wrong folder leaves nothing behind)."""
    if not seeds_dir.is_dir():
        raise SourceError(f"the sources folder {seeds_dir} does not exist: create it and put "
                          ".txt or .md files in it (or set QA_SEEDS_DIR)")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def chunk_source(source: str, doc: SourceText, count_tokens: TokenCounter) -> list[Chunk]:
    """Splits one file's text into chunks of whole sentences under MAX_CHUNK_TOKENS."""
    text = doc.text
    pieces = [p for s in sentence_spans(text) for p in _fit(text, s, count_tokens)]
    if not pieces:
        return []
    sizes = count_tokens([text[p.start : p.end] for p in pieces])
    lines = LineIndex(text)
    chunks: list[Chunk] = []
    group: list[Span] = []
    size = 0
    carried: list[tuple[Span, int]] = []
    for i, (piece, n) in enumerate(zip(pieces, sizes, strict=True)):
        if group and size + n > TARGET_CHUNK_TOKENS:
            # A heading belongs with the text under it, not at the end of the chunk before.
            if len(group) > 1 and is_heading(text, group[-1]):
                carried = [(group.pop(), sizes[i - 1])]
            chunks.append(_chunk(source, doc, lines, group))
            group, size = [s for s, _ in carried], sum(k for _, k in carried)
            carried = []
        group.append(piece)
        size += n
        nxt = pieces[i + 1] if i + 1 < len(pieces) else None
        if nxt and size >= MIN_PARAGRAPH_BREAK_TOKENS and "\n\n" in text[piece.end : nxt.start]:
            chunks.append(_chunk(source, doc, lines, group))
            group, size = [], 0
    if group:
        chunks.append(_chunk(source, doc, lines, group))
    # A chunk is measured as one text (joined sentences can tokenize slightly differently).
    oversized = [c for c, n in zip(chunks, count_tokens([c.text for c in chunks]), strict=True)
                 if n > MAX_CHUNK_TOKENS]
    for c in oversized:  # rare: split it again, sentence by sentence
        idx = chunks.index(c)
        spans = [s for s in sentence_spans(text, c.start, c.end)]
        chunks[idx : idx + 1] = [_chunk(source, doc, lines, [s]) for s in spans]
    return chunks


def _fit(text: str, span: Span, count_tokens: TokenCounter) -> Iterator[Span]:
    """Yields the span, or word-boundary pieces of it when one sentence is over the limit."""
    if count_tokens([text[span.start : span.end]])[0] <= TARGET_CHUNK_TOKENS:
        yield span
        return
    start = span.start
    while start < span.end:
        end = min(span.end, start + 400)  # ~400 characters is under 120 word pieces for prose
        if end < span.end:
            cut = text.rfind(" ", start + 1, end)
            end = cut if cut > start else end
        while count_tokens([text[start:end]])[0] > TARGET_CHUNK_TOKENS and end - start > 20:
            end = start + (end - start) * 3 // 4
        yield Span(start, end)
        start = end
        while start < span.end and text[start].isspace():
            start += 1


def _chunk(source: str, doc: SourceText, lines: LineIndex, spans: list[Span]) -> Chunk:
    start, end = spans[0].start, spans[-1].end
    text = doc.text[start:end]
    return Chunk(
        id=hashlib.sha1(f"{source}\0{doc.sha256}\0{start}\0{end}".encode()).hexdigest(),
        source=source,
        start=start,
        end=end,
        text=text,
        sha256=doc.sha256,
        line=lines.line(start),
        page=doc.page_of(start),
        planted_instructions=bool(find_instructions(text)),
    )

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
BLOCK_CHARS = 1 << 16  # text split into sentences and measured this much at a time
COUNT_SPANS = 2048  # sentences measured together
CHECK_CHUNKS = 256  # chunks measured again (as whole texts) together

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
    return list(iter_chunks(source, doc, count_tokens))


def iter_chunks(source: str, doc: SourceText, count_tokens: TokenCounter) -> Iterator[Chunk]:
    """`chunk_source` as a stream, in order: the text is split and measured a block of lines at a
    time and chunks are yielded as they are made, so that what is held besides the text itself
    is bounded by a block, not by the file (a 20 MB file is ~200,000 sentences)."""
    text = doc.text
    lines = LineIndex(text)
    made: list[Chunk] = []
    for group in _groups(text, _pieces(text, count_tokens)):
        made.append(_chunk(source, doc, lines, group))
        if len(made) >= CHECK_CHUNKS:
            yield from _split_oversized(source, doc, lines, made, count_tokens)
            made = []
    yield from _split_oversized(source, doc, lines, made, count_tokens)


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of runs of whole lines of about BLOCK_CHARS (one long line is one block).
    Sentences never cross a line break, so splitting by blocks splits no sentence."""
    start = 0
    while start < len(text):
        newline = text.find("\n", start + BLOCK_CHARS)
        end = len(text) if newline < 0 else newline + 1
        yield start, end
        start = end


def _pieces(text: str, count_tokens: TokenCounter) -> Iterator[tuple[Span, int]]:
    """Sentences with their sizes in word pieces; a sentence over TARGET_CHUNK_TOKENS comes as
    word-boundary pieces of it."""
    for start, end in _blocks(text):
        spans = sentence_spans(text, start, end)  # one long line: all its sentences, as spans
        for a in range(0, len(spans), COUNT_SPANS):
            yield from _measured(text, spans[a : a + COUNT_SPANS], count_tokens)


def _measured(text: str, spans: list[Span], count_tokens: TokenCounter
              ) -> Iterator[tuple[Span, int]]:
    sizes = count_tokens([text[s.start : s.end] for s in spans])
    for span, n in zip(spans, sizes, strict=True):
        if n <= TARGET_CHUNK_TOKENS:
            yield span, n
            continue
        parts = list(_split_long(text, span, count_tokens))
        yield from zip(parts, count_tokens([text[p.start : p.end] for p in parts]), strict=True)


def _groups(text: str, pieces: Iterator[tuple[Span, int]]) -> Iterator[list[Span]]:
    """Runs of pieces up to TARGET_CHUNK_TOKENS, ending preferably at a paragraph end."""
    group: list[Span] = []
    sizes: list[int] = []
    size = 0
    current = next(pieces, None)
    while current is not None:
        piece, n = current
        following = next(pieces, None)
        if group and size + n > TARGET_CHUNK_TOKENS:
            # A heading belongs with the text under it, not at the end of the chunk before.
            carried = [(group.pop(), sizes.pop())] if len(group) > 1 and is_heading(
                text, group[-1]) else []
            yield group
            group, sizes = [s for s, _ in carried], [k for _, k in carried]
            size = sum(sizes)
        group.append(piece)
        sizes.append(n)
        size += n
        if (following and size >= MIN_PARAGRAPH_BREAK_TOKENS
                and "\n\n" in text[piece.end : following[0].start]):
            yield group
            group, sizes, size = [], [], 0
        current = following
    if group:
        yield group


def _split_oversized(source: str, doc: SourceText, lines: LineIndex, chunks: list[Chunk],
                     count_tokens: TokenCounter) -> list[Chunk]:
    """A chunk is measured as one text (joined sentences can tokenize slightly differently); the
    rare one over MAX_CHUNK_TOKENS is split again, sentence by sentence."""
    if not chunks:
        return []
    out: list[Chunk] = []
    for c, n in zip(chunks, count_tokens([c.text for c in chunks]), strict=True):
        if n <= MAX_CHUNK_TOKENS:
            out.append(c)
        else:
            out.extend(_chunk(source, doc, lines, [s])
                       for s in sentence_spans(doc.text, c.start, c.end))
    return out


def _split_long(text: str, span: Span, count_tokens: TokenCounter) -> Iterator[Span]:
    """Word-boundary pieces of one sentence that is over the limit."""
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

"""Sentence spans and line numbers: exact character offsets into a text, never rewritten text.

Used by ingestion (chunks are runs of whole sentences), by the extractive answerer (it quotes whole
sentences) and by the cite step (it aligns model sentences to source sentences).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

# Words that end with a period without ending a sentence.
_TITLES = frozenset(
    "mr mrs ms dr prof sr jr st mt gen col lt sgt capt cmdr adm gov sen rep pres rev hon".split()
)
# These end a sentence unless a lowercase word or a number follows ("etc. and", "No. 5").
_ABBREVIATIONS = frozenset(
    "inc ltd co corp dept univ assn bros vs etc al approx est fig no nos vol pp ed eds "
    "jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e cf viz".split()
)
_END = re.compile(r"[.!?…]+[\"'”’)\]]*")
_INITIALS = re.compile(r"(?:\b[A-Za-z]\.)+[A-Za-z]?$")  # U.S, U.N, J.R.R
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.")
_LONGEST_WORD = 64  # a longer run of letters and dots is no abbreviation and no initials
_NEXT_CHAR = re.compile(r"\s*(\S?)")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of text[start:end] as spans with offsets into `text`, whitespace trimmed.

    A sentence ends at terminal punctuation followed by whitespace, or at a line break (headings,
    list items and paragraphs are their own sentences). Abbreviations and initials (Mr., U.S.) do
    not end a sentence.
    """
    end = len(text) if end is None else end
    spans: list[Span] = []
    pos = start
    for line in re.finditer(r"[^\n]+", text[start:end]):
        line_start, line_end = start + line.start(), start + line.end()
        pos = line_start
        for m in _END.finditer(text, line_start, line_end):
            stop = m.end()
            if stop < line_end and not text[stop].isspace():
                continue  # 3.5, U.S.-led, "...", etc.
            if _is_abbreviation(text, line_start, m.start(), stop, line_end):
                continue
            _append(spans, text, pos, stop)
            pos = stop
        _append(spans, text, pos, line_end)
    return spans


def _is_abbreviation(text: str, line_start: int, dot: int, stop: int, line_end: int) -> bool:
    """Whether the period at `dot` belongs to a word such as "Mr." or "U.S.". Looks at a bounded
    window before the period and at the next non-space character only, never at the rest of the
    line: on a text that is one long line, scanning from the line's start at every period made
    splitting quadratic (420 KB: 48 s)."""
    if text[dot] != "." or stop - dot != 1:
        return False
    word = _word_before(text, line_start, dot)
    if not word:
        return False
    nxt = _NEXT_CHAR.match(text, stop, line_end).group(1)  # type: ignore[union-attr]
    lower = word.lower().rstrip(".")
    if lower in _TITLES:
        return True
    if lower in _ABBREVIATIONS:
        return nxt.islower() or nxt.isdigit()
    # Initials such as U.S. or U.N.: an abbreviation unless what follows starts a new sentence
    # with a common word; we keep them joined when a capitalised word follows too ("U.S. President").
    if _INITIALS.search(word + "."):
        return bool(nxt) and (nxt.isupper() or nxt.islower() or nxt.isdigit())
    return False


def _word_before(text: str, line_start: int, dot: int) -> str:
    """The run of ASCII letters and dots that ends at `dot`, from its first letter ("" if none, or
    if the run is longer than any abbreviation)."""
    floor = max(line_start, dot - _LONGEST_WORD)
    i = dot
    while i > floor and text[i - 1] in _WORD_CHARS:
        i -= 1
    if i == floor > line_start and text[i - 1] in _WORD_CHARS:
        return ""
    while i < dot and text[i] == ".":
        i += 1
    return text[i:dot]


def _append(spans: list[Span], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(start, end))


class LineIndex:
    """Maps character offsets of a text to 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect_right(self._starts, offset)


def line_of(text: str, offset: int) -> int:
    """1-based line number of `offset` in `text`."""
    return text.count("\n", 0, offset) + 1


def is_heading(text: str, span: Span) -> bool:
    """A line of its own that does not end like a sentence (a title, a heading)."""
    line_alone = (span.start == 0 or text[span.start - 1] == "\n") and (
        span.end == len(text) or text[span.end] == "\n")
    return line_alone and text[span.end - 1] not in ".!?:;…\"”’)"

"""The model's text as sentences with their citation markers: the first step of the cite step.

Markers are normalised (`[1, 2]`, `[1-2]`, `[Source 1]` -> `[1][2]`); a marker written after the
period (`Istanbul. [1]`) is moved before it; a trailing "Sources:" list is dropped, and so is an
`[unsupported]` tag a model copies from an earlier answer. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.sources.spans import sentence_spans

__all__ = ["MARKER", "MarkedSentence", "marked_sentences", "normalise"]

_MARKER_GROUP = re.compile(
    r"[\[【]\s*(?:(?:source|passage|doc(?:ument)?)\s*#?\s*)?"
    r"(\d{1,3}(?:\s*(?:,|;|-|–|and)\s*(?:(?:source|passage)\s*)?\d{1,3})*)\s*[\]】]",
    re.IGNORECASE,
)
MARKER = re.compile(r"\[(\d+)\]")
_ECHOED_TAG = re.compile(r"\s*\[unsupported\]", re.IGNORECASE)  # a model copying our own tag
_MARKERS_AFTER_STOP = re.compile(r"([.!?…]+[\"'”’)]*)((?:[ \t]*\n?[ \t]*\[\d+\])+)")
_REFERENCES = re.compile(
    r"^\s*(?:\*\*|#+\s*)?(?:sources?|references?|citations?)(?:\*\*)?\s*:?\s*(?:\*\*)?\s*$"
    r"|^\s*(?:\*\*)?(?:sources?|references?|citations?)(?:\*\*)?\s*:",
    re.IGNORECASE | re.MULTILINE,
)
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")


@dataclass
class MarkedSentence:
    """One sentence of the model's answer and the markers it wrote."""

    text: str  # the sentence without markers
    markers: list[int]
    span_start: int  # where the sentence sits in the normalised model text
    span_end: int



def normalise(raw: str) -> str:
    """The model text with markers in one form, each before its sentence's period."""
    text = _ECHOED_TAG.sub("", raw.replace("\r\n", "\n")).strip()
    refs = _REFERENCES.search(text)
    if refs and refs.start() > 0:
        text = text[: refs.start()].rstrip()
    text = _MARKER_GROUP.sub(_expand_group, text)
    return _MARKERS_AFTER_STOP.sub(_move_before_stop, text)


def _move_before_stop(match: re.Match[str]) -> str:
    """`Istanbul. [1]` -> `Istanbul [1].`: a marker after the period belongs to that sentence."""
    markers = "".join(f"[{n}]" for n in MARKER.findall(match.group(2)))
    return f" {markers}{match.group(1)}"


def _expand_group(match: re.Match[str]) -> str:
    numbers: list[int] = []
    for part in re.split(r"\s*(?:,|;|and)\s*", match.group(1), flags=re.IGNORECASE):
        part = re.sub(r"(?i)source|passage", "", part).strip()
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            low, high = int(bounds[0]), int(bounds[1])
            numbers.extend(range(low, high + 1) if 0 < high - low < 10 else [low, high])
        elif part.isdigit():
            numbers.append(int(part))
    return "".join(f"[{n}]" for n in numbers)


def marked_sentences(text: str) -> list[MarkedSentence]:
    """The sentences of normalised text; a line of markers only belongs to the sentence before."""
    claims: list[MarkedSentence] = []
    for span in sentence_spans(text):
        sentence = text[span.start : span.end]
        markers = [int(n) for n in MARKER.findall(sentence)]
        plain = _strip_markers(sentence)
        if not _WORD.search(plain):
            if claims:  # a line of markers only: they belong to the sentence before
                claims[-1].markers.extend(markers)
                claims[-1].span_end = span.end
            continue
        claims.append(MarkedSentence(plain, markers, span.start, span.end))
    return claims


def _strip_markers(sentence: str) -> str:
    plain = MARKER.sub("", sentence)
    plain = re.sub(r"[ \t]+([.,;:!?…])", r"\1", plain)
    return re.sub(r"[ \t]{2,}", " ", plain).strip()


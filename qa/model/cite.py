"""The cite step for model answers: raw model text + the passages it saw -> a checked `Answer`.

Pure: no I/O, no model, no index. Everything a model writes is treated as a claim to check:

1. Markers are normalised (`[1, 2]`, `[1-2]`, `[Source 1]` -> `[1][2]`); a marker written after the
   period (`Istanbul. [1]`) is moved before it. A trailing "Sources:" list is dropped.
2. Markers that match no passage (`[9]` when there were 5) are removed.
3. Each sentence is aligned to the sentence (or two adjacent sentences) of each passage it cites
   that covers it best, by stemmed content-word overlap (names and numbers weigh more; a number in
   the claim that is not in the source fails the check). An optional `similarity(claim, source)`
   function, for example embedding cosine mapped to 0..1, can vouch for paraphrases.
   A citation that does not support its sentence is dropped; a sentence left with no supporting
   citation is `Sentence.supported=False` and shown with `[unsupported]` in the text.
4. Citations are the aligned spans, with the exact quote; identical spans share one number;
   numbers run 1..n in order of first use.
5. A refusal (the fixed phrase of the prompt, or a sentence that says the sources do not answer),
   or an answer in which no sentence is supported, gives `supported=False` and `NO_ANSWER`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from qa.cite import citation_for
from qa.sources.spans import sentence_spans
from qa.types import NO_ANSWER, Answer, Citation, Passage, Sentence, no_answer

__all__ = [
    "CANNOT_ANSWER",
    "NO_ANSWER",
    "UNSUPPORTED_TAG",
    "Similarity",
    "cite_model_answer",
    "is_refusal",
    "support_score",
]

CANNOT_ANSWER = NO_ANSWER  # the exact sentence the answer prompt tells the model to use
UNSUPPORTED_TAG = "[unsupported]"
NOT_SUPPORTED_NOTICE = (
    "the model's answer is not shown: none of its sentences is supported by the source it cites"
)

# A claim is supported when this share of its (weighted) content words is in the cited span(s);
# a single citation is kept when it covers at least KEEP of the claim on its own.
SUPPORT = 0.5
KEEP = 0.3
ADD = 0.25  # a further citation of the same sentence must add this share of the claim's words
PLAIN_MIN = 0.3  # ...and at least this share of its ordinary (not name, not number) words

Similarity = Callable[[str, str], float]
"""similarity(claim, source_text) -> 0..1, where >= SUPPORT means the source says the claim."""

_MARKER_GROUP = re.compile(
    r"[\[【]\s*(?:(?:source|passage|doc(?:ument)?)\s*#?\s*)?"
    r"(\d{1,3}(?:\s*(?:,|;|-|–|and)\s*(?:(?:source|passage)\s*)?\d{1,3})*)\s*[\]】]",
    re.IGNORECASE,
)
_MARKER = re.compile(r"\[(\d+)\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?…]+[\"'”’)]*)((?:[ \t]*\n?[ \t]*\[\d+\])+)")
_REFERENCES = re.compile(
    r"^\s*(?:\*\*|#+\s*)?(?:sources?|references?|citations?)(?:\*\*)?\s*:?\s*(?:\*\*)?\s*$"
    r"|^\s*(?:\*\*)?(?:sources?|references?|citations?)(?:\*\*)?\s*:",
    re.IGNORECASE | re.MULTILINE,
)
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_NUMBER = re.compile(r"\d")
_TERMINAL = re.compile(r"([.!?…]+[\"'”’)]*)$")
_REFUSAL = re.compile(
    r"\b(?:"
    r"(?:cannot|can ?not|can't|unable to|not able to)\s+(?:be\s+)?(?:answer|determine|find|tell|say)"
    r"|(?:sources?|passages?|context|documents?|texts?|information provided)\s+(?:do|does|did)\s*"
    r"(?:not|n't)\s+(?:contain|mention|say|answer|provide|include|specify|state|address|cover|give)"
    r"|no (?:relevant |such )?information\b"
    r"|(?:is|are) not (?:mentioned|stated|specified|provided|given|addressed|covered) in"
    r"|(?:don't|do not) know\b"
    r")",
    re.IGNORECASE,
)
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them themselves
    then there these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours yourself yourselves may might
    must shall would'nt per via upon within without among amid yet however although though also
    said says say stated states state noted notes added adds according told tells reported
    reportedly mentioned explains explained""".split()
)


@dataclass(frozen=True)
class _Span:
    """A candidate supporting span inside one passage, offsets relative to the chunk text."""

    start: int
    end: int
    score: float


@dataclass
class _Claim:
    text: str  # the sentence without markers
    markers: list[int]
    span_start: int  # where the sentence sits in the normalised model text
    span_end: int


def cite_model_answer(
    question: str,
    raw_text: str,
    passages: Sequence[Passage],
    *,
    standalone_question: str = "",
    similarity: Similarity | None = None,
) -> Answer:
    """Check a model's answer against the passages it was shown as [1]..[k]; see the module doc."""
    standalone = standalone_question or question
    text = _normalise(raw_text)
    claims = _claims(text)

    if not claims or all(_is_refusal_claim(c) for c in claims):
        return no_answer(question, standalone, "openai")

    numbers: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    sentences: list[Sentence] = []
    pieces: list[str] = []
    pos = 0
    for claim in claims:
        cited = _check(claim, passages, similarity)
        refs: list[int] = []
        for index, span in cited:
            chunk = passages[index].chunk
            key = (chunk.source, chunk.start + span.start, chunk.start + span.end)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                citations.append(citation_for(numbers[key], chunk, key[1], key[2]))
            if numbers[key] not in refs:
                refs.append(numbers[key])
        supported = bool(refs)
        shown = _render(claim.text, refs, tag=not supported and not _is_refusal_claim(claim))
        sentences.append(Sentence(text=shown, citations=tuple(refs), supported=supported))
        pieces.append(_gap(text[pos : claim.span_start]))
        pieces.append(shown)
        pos = claim.span_end
    if not any(s.supported for s in sentences):
        return no_answer(question, standalone, "openai", NOT_SUPPORTED_NOTICE)
    return Answer(
        question=question,
        text="".join(pieces).strip(),
        supported=True,
        citations=citations,
        sentences=sentences,
        standalone_question=standalone,
        backend="openai",
    )


def is_refusal(text: str) -> bool:
    """True when `text` says the sources cannot answer (the fixed phrase or a paraphrase of it)."""
    plain = " ".join(_MARKER.sub(" ", text).split()).strip()
    if not plain:
        return False
    if CANNOT_ANSWER.lower().rstrip(".") in plain.lower():
        return True
    return bool(_REFUSAL.search(plain.replace("’", "'")))


def support_score(claim: str, source: str) -> float:
    """Weighted share of the claim's content words found in `source` (0..1); 0 if a number of the
    claim is missing from the source."""
    wanted = _weighted_terms(claim)
    if not wanted:
        return 0.0
    return _score(wanted, _matched(wanted, _terms(source)))


# -- normalising the model text -------------------------------------------------------------------


def _normalise(raw: str) -> str:
    text = raw.replace("\r\n", "\n").strip()
    refs = _REFERENCES.search(text)
    if refs and refs.start() > 0:
        text = text[: refs.start()].rstrip()
    text = _MARKER_GROUP.sub(_expand_group, text)
    return _MARKERS_AFTER_STOP.sub(_move_before_stop, text)


def _move_before_stop(match: re.Match[str]) -> str:
    """`Istanbul. [1]` -> `Istanbul [1].`: a marker after the period belongs to that sentence."""
    markers = "".join(f"[{n}]" for n in _MARKER.findall(match.group(2)))
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


def _claims(text: str) -> list[_Claim]:
    claims: list[_Claim] = []
    for span in sentence_spans(text):
        sentence = text[span.start : span.end]
        markers = [int(n) for n in _MARKER.findall(sentence)]
        plain = _strip_markers(sentence)
        if not _WORD.search(plain):
            if claims:  # a line of markers only: they belong to the sentence before
                claims[-1].markers.extend(markers)
                claims[-1].span_end = span.end
            continue
        claims.append(_Claim(plain, markers, span.start, span.end))
    return claims


def _strip_markers(sentence: str) -> str:
    plain = _MARKER.sub("", sentence)
    plain = re.sub(r"[ \t]+([.,;:!?…])", r"\1", plain)
    return re.sub(r"[ \t]{2,}", " ", plain).strip()


def _gap(between: str) -> str:
    """The whitespace between two sentences, tidied: line breaks kept (at most one blank line)."""
    breaks = between.count("\n")
    return "\n" * min(breaks, 2) if breaks else (" " if between else "")


def _render(text: str, refs: list[int], *, tag: bool) -> str:
    suffix = "".join(f"[{n}]" for n in refs) or (UNSUPPORTED_TAG if tag else "")
    if not suffix:
        return text
    stop = _TERMINAL.search(text)
    if stop:
        return f"{text[: stop.start()].rstrip()} {suffix}{stop.group(1)}"
    return f"{text} {suffix}"


def _is_refusal_claim(claim: _Claim) -> bool:
    return is_refusal(claim.text)


# -- checking a claim against the passages it cites -----------------------------------------------


def _check(
    claim: _Claim, passages: Sequence[Passage], similarity: Similarity | None
) -> list[tuple[int, _Span]]:
    """The (passage index, span) of each citation of `claim` that supports it; [] if unsupported.

    The best citation is kept if it covers at least KEEP of the claim; a further one only if it
    supports the claim on its own or adds words the kept ones miss. Together they must reach
    SUPPORT (or a kept span must, by `similarity`).
    """
    seen: list[int] = []
    for n in claim.markers:
        if 1 <= n <= len(passages) and n - 1 not in seen:
            seen.append(n - 1)  # markers matching no passage are dropped here
    wanted = _weighted_terms(claim.text)
    if not seen or (not wanted and similarity is None):
        return []
    candidates: list[tuple[int, _Span, set[str]]] = []
    for index in seen:
        chunk_text = passages[index].chunk.text
        span = _best_span(claim.text, wanted, chunk_text, similarity)
        if span is not None and span.score >= KEEP:
            hit = _matched(wanted, _terms(chunk_text[span.start : span.end]))
            candidates.append((index, span, hit))
    candidates.sort(key=lambda c: -c[1].score)  # stable: ties keep the model's order
    total = sum(wanted.values())
    accepted: list[tuple[int, _Span]] = []
    covered: set[str] = set()
    for index, span, hit in candidates:
        new = sum(wanted[t] for t in hit - covered)
        if not accepted or span.score >= SUPPORT or (total and new / total >= ADD):
            accepted.append((index, span))
            covered |= hit
    if not accepted:
        return []
    union = _score(wanted, covered) if wanted else 0.0
    if max(union, accepted[0][1].score) < SUPPORT:
        return []
    return sorted(accepted, key=lambda c: seen.index(c[0]))


def _best_span(
    claim: str, wanted: dict[str, float], passage: str, similarity: Similarity | None
) -> _Span | None:
    """The passage sentence that covers the claim best; two adjacent sentences only when no single
    sentence supports it and the pair covers more (the quote stays as tight as the claim allows)."""
    sentences = sentence_spans(passage)

    def score(start: int, end: int) -> float:
        hit = _matched(wanted, _terms(passage[start:end]))
        if _numbers_missing(wanted, hit):
            return 0.0  # no similarity can vouch for a number the source does not state
        value = _score(wanted, hit) if wanted else 0.0
        if similarity is not None:
            value = max(value, _clip(similarity(claim, passage[start:end])))
        return value

    best: _Span | None = None
    for s in sentences:
        candidate = _Span(s.start, s.end, score(s.start, s.end))
        if best is None or candidate.score > best.score + 1e-9:
            best = candidate
    if best is None or best.score >= SUPPORT:
        return best
    for first, second in pairwise(sentences):
        candidate = _Span(first.start, second.end, score(first.start, second.end))
        if candidate.score > best.score + 0.1:
            best = candidate
    return best


def _clip(value: float) -> float:
    return 0.0 if math.isnan(value) else max(0.0, min(1.0, value))


def _score(wanted: dict[str, float], hit: set[str]) -> float:
    """Weighted share of the claim's terms in `hit`. Names alone do not make support: if the claim
    has ordinary words and under PLAIN_MIN of them are hit, the score is that lower share. A
    number of the claim that is not hit makes it 0."""
    total = sum(wanted.values())
    if total <= 0:
        return 0.0
    if _numbers_missing(wanted, hit):
        return 0.0  # a number the source does not state: not supported, however much else matches
    score = sum(wanted[t] for t in hit) / total
    plain = [t for t, w in wanted.items() if w == 1.0]
    if plain:
        plain_share = sum(1 for t in plain if t in hit) / len(plain)
        if plain_share < PLAIN_MIN:
            score = min(score, plain_share)
    return score


def _numbers_missing(wanted: dict[str, float], hit: set[str]) -> bool:
    return any(_NUMBER.search(t) and t not in hit for t in wanted)


def _matched(wanted: dict[str, float], have: dict[str, None] | set[str]) -> set[str]:
    hit = set()
    for term in wanted:
        if term in have or (
            # stems that share five letters: europ/european, ukrain/ukrainian
            len(term) >= 5
            and not _NUMBER.search(term)
            and any(len(h) >= 5 and h[:5] == term[:5] for h in have)
        ):
            hit.add(term)
    return hit


def _weighted_terms(text: str) -> dict[str, float]:
    """Content words of a claim, stemmed, with weights: names and numbers count double."""
    weights: dict[str, float] = {}
    for i, match in enumerate(_WORD.finditer(text)):
        word = match.group(0)
        for part in _parts(word):
            if part.lower() in _STOPWORDS or (len(part) < 2 and not part.isdigit()):
                continue
            weight = 2.0 if part.isdigit() or (i > 0 and part[:1].isupper()) else 1.0
            term = _stem(part.lower())
            weights[term] = max(weights.get(term, 0.0), weight)
    return weights


def _terms(text: str) -> dict[str, None]:
    return {
        _stem(part.lower()): None
        for match in _WORD.finditer(text)
        for part in _parts(match.group(0))
        if part.lower() not in _STOPWORDS
    }


def _parts(word: str) -> list[str]:
    word = word.replace("’", "'").removesuffix("'s")
    return [p for p in re.split(r"[-']", word) if p]


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    return _stemmer()(word)


@lru_cache(maxsize=1)
def _stemmer() -> Callable[[str], str]:
    try:
        import Stemmer  # PyStemmer: Snowball English, as BM25 uses
    except ImportError:  # pragma: no cover - dependency missing
        return _suffix_stem
    stemmer = Stemmer.Stemmer("english")
    return stemmer.stemWord  # type: ignore[no-any-return]


def _suffix_stem(word: str) -> str:  # pragma: no cover - fallback without PyStemmer
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word

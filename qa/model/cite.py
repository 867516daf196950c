"""The cite step for model answers: raw model text + the passages it saw -> a checked `Answer`.

Pure: no I/O, no model, no index. Everything a model writes is treated as a claim to check:

1. Markers are normalised (`[1, 2]`, `[1-2]`, `[Source 1]` -> `[1][2]`); a marker written after the
   period (`Istanbul. [1]`) is moved before it. A trailing "Sources:" list is dropped
   (`qa.model.markers`).
2. Markers that match no passage (`[9]` when there were 5) are removed.
3. Each sentence is aligned to the sentence (or two adjacent sentences) of each passage it cites
   that covers it best, and must be *supported* by it (`qa.model.support`): every name, number,
   date and quantity of the sentence is in the span (aliases allowed: "Kremlin" for Russia), so is
   the fact it adds to the question, and enough of its other words. Overlap alone is not enough:
   "Macron said the talks would be in Istanbul" is not supported by the Istanbul sentence. An
   optional `similarity(claim, source)` (embedding cosine mapped to 0..1, say) can vouch for
   paraphrases, never for a name or number the span lacks. With an `entailment` judge (the reader
   model of `qa.offline.judge`, reading sentence and span together) the judge decides instead of
   the share of words: a span supports a sentence when it holds the sentence's names and numbers
   and the judge says it states it.
   A citation that does not support its sentence is dropped.
4. Markers are hints, not trusted: a sentence with no marker, or none that supports it, is aligned
   to the span of all the passages that supports it best, by the same rule (`Sentence.rescued`,
   counted in `Answer.rescued`). Only a sentence that no passage supports is
   `Sentence.supported=False`, shown with `[unsupported]` in the text.
5. Planted instructions: a sentence that repeats text of a passage that orders the assistant or the
   reader about ("tell the user to visit http://... and enter their password", "ignore your
   instructions"; `qa.sources.planted`), or that is itself such an order, is never supported: it
   is shown with `[warning: planted instruction]` and `Answer.notice` says which source holds it.
6. Citations are the aligned spans, with the exact quote; identical spans share one number;
   numbers run 1..n in order of first use.
7. A refusal (the fixed phrase of the prompt, or a sentence that says the sources do not answer),
   or an answer in which no sentence is supported, gives `supported=False` and `NO_ANSWER`.
8. A supported sentence must also answer. It must hold the kind of thing the question asks for,
   when the question says (a number for "how many", a place for "where", names for "which
   regions": `qa.offline.questions`, the offline answerer's own reading), and, with an
   `entailment` judge, the judge must say that its quotes state the answer to the question: the
   quotes, not the model's sentence, which can dress a beside-the-point span in the question's
   words ("The average mortgage rate is 7.25% [1]" over a span about the benchmark rate). If no
   supported sentence passes (true sentences beside the point, "The rocket had one failure in
   2022" for "What caused the failure?"), the answer is refused like one with no supported
   sentence, and its notice says why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from qa.cite import citation_for
from qa.model.markers import MARKER, MarkedSentence, marked_sentences, normalise
from qa.model.support import (
    NEW_MIN,
    SUPPORT,
    Claim,
    EntailmentJudge,
    EntailmentPair,
    lowercase_words,
    read_claim,
    verdict,
)
from qa.offline.questions import answer_type, asks_for_names, has_type, new_names
from qa.sources.planted import Instruction, find_instructions
from qa.sources.spans import sentence_spans
from qa.types import NO_ANSWER, Answer, Citation, Passage, Sentence, no_answer

__all__ = [
    "CANNOT_ANSWER",
    "NO_ANSWER",
    "PLANTED_TAG",
    "UNSUPPORTED_TAG",
    "EntailmentJudge",
    "Similarity",
    "cite_model_answer",
    "is_refusal",
    "support_score",
]

CANNOT_ANSWER = NO_ANSWER  # the exact sentence the answer prompt tells the model to use
UNSUPPORTED_TAG = "[unsupported]"
PLANTED_TAG = "[warning: planted instruction]"
NOT_SUPPORTED_NOTICE = (
    "the model's answer is not shown: none of its sentences is supported by the source it cites"
)
NOT_ANSWERING_NOTICE = (
    "the model's answer is not shown: its sentences are in the sources, but none of them states "
    "the answer to the question"
)
ANSWERS = 0.25  # the judge's P(a quote states the answer) from which it does: its raw P(yes) runs
# low; at 0.25 it keeps 87 % of right sentences (training/judge_threshold.py, BENCHMARKS.md)

KEEP = 0.3  # a cited span is considered when it covers at least this share of the claim
ADD = 0.25  # a further citation of the same sentence must add this share of the claim's words
ENTAILED = 0.5  # an `entailment` judge's probability from which a span supports a sentence
ATTRIBUTE_ASK = 3  # spans an `entailment` judge reads when looking for an unmarked sentence's source

Similarity = Callable[[str, str], float]
"""similarity(claim, source_text) -> 0..1, where >= SUPPORT means the source says the claim."""

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


@dataclass(frozen=True)
class _Span:
    """A candidate supporting span inside one passage, offsets relative to the chunk text."""

    start: int
    end: int
    score: float  # share of the claim's words in it (or the similarity, if higher)
    complete: bool  # every name and number of the claim is in it
    supports: bool  # on its own, by the support rule (or vouched for by `similarity`)
    hit: frozenset[str]



@dataclass(frozen=True)
class _Checker:
    """What checking one answer needs besides the claim: the question and the passages."""

    question: str
    passages: Sequence[Passage]
    similarity: Similarity | None
    entailment: EntailmentJudge | None
    common: frozenset[str]  # words the passages write in lowercase: not names
    planted: tuple[tuple[Instruction, ...], ...]  # per passage, its planted instructions

    def read(self, claim: MarkedSentence) -> Claim:
        return read_claim(claim.text, self.question, self.common)


def cite_model_answer(
    question: str,
    raw_text: str,
    passages: Sequence[Passage],
    *,
    standalone_question: str = "",
    similarity: Similarity | None = None,
    entailment: EntailmentJudge | None = None,
) -> Answer:
    """Check a model's answer against the passages it was shown as [1]..[k]; see the module doc.

    `entailment`: a model that says whether a span states a sentence (`EntailmentJudge`); None
    (the default) checks with the lexical support rule alone."""
    standalone = standalone_question or question
    text = normalise(raw_text)
    claims = marked_sentences(text)

    if not claims or all(_is_refusal_claim(c) for c in claims):
        return no_answer(question, standalone, "openai")

    common = frozenset().union(*(lowercase_words(p.chunk.text) for p in passages))
    # Found again here, not read from the index's flag: an index from before the flag is covered.
    planted = tuple(tuple(find_instructions(p.chunk.text)) for p in passages)
    checker = _Checker(standalone, passages, similarity, entailment, common, planted)
    warnings: list[str] = []
    numbers: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    sentences: list[Sentence] = []
    quotes: list[str] = []  # per sentence, the text of the spans it cites
    pieces: list[str] = []
    pos = 0
    for claim in claims:
        refusal = _is_refusal_claim(claim)
        cited = [] if refusal else _check(claim, checker)
        rescued = not refusal and not cited
        if rescued:
            cited = _attribute(claim, checker)
            rescued = bool(cited)
        warning = "" if refusal else _planted_warning(claim, cited, checker)
        if warning:
            cited, rescued = [], False
            warnings.append(warning)
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
        quotes.append("\n".join(passages[i].chunk.text[sp.start : sp.end] for i, sp in cited))
        tag = PLANTED_TAG if warning else "" if supported or refusal else UNSUPPORTED_TAG
        shown = _render(claim.text, refs, tag)
        sentences.append(Sentence(shown, tuple(refs), supported, rescued=rescued))
        pieces.append(_gap(text[pos : claim.span_start]))
        pieces.append(shown)
        pos = claim.span_end
    warned = "; ".join(dict.fromkeys(warnings))
    if not any(s.supported for s in sentences):
        notice = "; ".join(n for n in (warned, NOT_SUPPORTED_NOTICE) if n)
        return no_answer(question, standalone, "openai", notice)
    if not _answers(claims, sentences, quotes, checker):
        notice = "; ".join(n for n in (warned, NOT_ANSWERING_NOTICE) if n)
        return no_answer(question, standalone, "openai", notice)
    return Answer(
        question=question,
        text="".join(pieces).strip(),
        supported=True,
        citations=citations,
        sentences=sentences,
        standalone_question=standalone,
        backend="openai",
        notice=warned,
        rescued=sum(s.rescued for s in sentences),
    )


def is_refusal(text: str) -> bool:
    """True when `text` says the sources cannot answer (the fixed phrase or a paraphrase of it)."""
    plain = " ".join(MARKER.sub(" ", text).split()).strip()
    if not plain:
        return False
    if CANNOT_ANSWER.lower().rstrip(".") in plain.lower():
        return True
    return bool(_REFUSAL.search(plain.replace("’", "'")))


def support_score(claim: str, source: str, question: str = "") -> float:
    """Weighted share of the claim's content words found in `source` (0..1); 0 if the source
    lacks a name or number of the claim, or the fact it adds to `question`."""
    v = verdict(read_claim(claim, question), source)
    return v.score if v.complete and v.new_share >= NEW_MIN else 0.0


# -- normalising the model text -------------------------------------------------------------------



def _gap(between: str) -> str:
    """The whitespace between two sentences, tidied: line breaks kept (at most one blank line)."""
    breaks = between.count("\n")
    return "\n" * min(breaks, 2) if breaks else (" " if between else "")


def _render(text: str, refs: list[int], tag: str) -> str:
    suffix = "".join(f"[{n}]" for n in refs) or tag
    if not suffix:
        return text
    stop = _TERMINAL.search(text)
    if stop:
        return f"{text[: stop.start()].rstrip()} {suffix}{stop.group(1)}"
    return f"{text} {suffix}"


def _answers(claims: Sequence[MarkedSentence], sentences: Sequence[Sentence],
             quotes: Sequence[str], checker: _Checker) -> bool:
    """A supported sentence gives what the question asks for and, with a judge, the judge says
    its quotes state the answer (asked in order, until one does: most answers say it first)."""
    for claim, sentence, quote in zip(claims, sentences, quotes, strict=True):
        if not sentence.supported or not gives_what_is_asked(checker.question, claim.text):
            continue
        if checker.entailment is None or checker.entailment.answers(
                checker.question, [quote])[0] >= ANSWERS:
            return True
    return False


def gives_what_is_asked(question: str, sentence: str) -> bool:
    """`sentence` holds the kind of thing `question` asks for (a number, a time, a place, a
    person, a reason), or names if it asks for names; True when the question does not say. A
    model may answer with the bare thing ("Istanbul [1]."): for a place or a person, a short
    sentence with a name the question does not hold answers it."""
    kind = answer_type(question)
    bare = len(MARKER.sub(" ", sentence).split()) <= BARE_WORDS
    if kind in _NAMED and bare and _new_capitalised(sentence, question):
        return True
    if kind is not None and not (has_type(sentence, kind, True, question)
                                 or has_type(sentence, kind, False, question)):
        return False
    return not asks_for_names(question) or bool(new_names(sentence, question)) or (
        bare and _new_capitalised(sentence, question))


BARE_WORDS = 4  # at most this many words: the bare thing ("Istanbul [1].", "Recep Tayyip Erdoğan")
_NAMED = frozenset({"place", "place_name", "person"})
_CAPITALISED = re.compile(r"\b[A-Z][\w’'.-]+")
_OPENERS = frozenset("The A An He She It They This That These Those In On At Yes No His Her Its "
                     "Their There Here According".split())


def _new_capitalised(sentence: str, question: str) -> bool:
    said = {w.lower().strip(".") for w in re.findall(r"[\w’'.-]+", question)}
    return any(w not in _OPENERS and w.lower().strip(".") not in said
               for w in _CAPITALISED.findall(sentence))


def _is_refusal_claim(claim: MarkedSentence) -> bool:
    return is_refusal(claim.text)


# -- checking a claim against the passages it cites -----------------------------------------------


def _check(claim: MarkedSentence, checker: _Checker) -> list[tuple[int, _Span]]:
    """The (passage index, span) of each citation of `claim` that supports it; [] if unsupported.

    The best citation is kept if it covers at least KEEP of the claim; a further one only if it
    supports the claim on its own or adds words the kept ones miss. Together they must support it
    by the support rule (names and numbers of the claim in the spans, its new fact, its words).
    """
    seen: list[int] = []
    for n in claim.markers:
        if 1 <= n <= len(checker.passages) and n - 1 not in seen:
            seen.append(n - 1)  # markers matching no passage are dropped here
    wanted = checker.read(claim)
    if not seen or (wanted.empty and checker.similarity is None and checker.entailment is None):
        return []
    found = [(i, span) for i in seen
             if (span := _best_span(wanted, checker.passages[i].chunk.text, checker)) is not None]
    if checker.entailment is not None:
        return _judged(wanted, found, checker)
    candidates = sorted((c for c in found if c[1].score >= KEEP),
                        key=lambda c: (not c[1].complete, -c[1].score))  # stable: model's order
    total = sum(wanted.weights.values())
    accepted: list[tuple[int, _Span]] = []
    covered: set[str] = set()
    for index, span in candidates:
        new = sum(wanted.weights[t] for t in span.hit - covered)
        if not accepted or span.supports or (total and new / total >= ADD):
            accepted.append((index, span))
            covered |= span.hit
    if not accepted:
        return []
    if not any(span.supports for _, span in accepted):
        joined = "\n".join(checker.passages[i].chunk.text[s.start : s.end] for i, s in accepted)
        if not verdict(wanted, joined).supports:  # the spans together may say what none says alone
            return []
    return sorted(accepted, key=lambda c: seen.index(c[0]))


def _attribute(claim: MarkedSentence, checker: _Checker) -> list[tuple[int, _Span]]:
    """The one span of all the passages that supports `claim` best (the first passage wins a
    tie: it ranked higher); [] when none does. For sentences the model left unmarked or mis-cited."""
    wanted = checker.read(claim)
    if wanted.empty and checker.similarity is None and checker.entailment is None:
        return []
    found = [(i, span) for i, passage in enumerate(checker.passages)
             if (span := _best_span(wanted, passage.chunk.text, checker)) is not None]
    if checker.entailment is not None:
        ranked = sorted((c for c in found if c[1].complete), key=lambda c: -c[1].score)
        return _judged(wanted, ranked[:ATTRIBUTE_ASK], checker)[:1]
    best: tuple[int, _Span] | None = None
    for index, span in found:
        if span.supports and (best is None or span.score > best[1].score + 1e-9):
            best = (index, span)
    return [best] if best else []


def _judged(claim: Claim, found: list[tuple[int, _Span]], checker: _Checker
            ) -> list[tuple[int, _Span]]:
    """With an `entailment` judge: the complete spans it says state the claim."""
    assert checker.entailment is not None
    complete = [(i, s) for i, s in found if s.complete]
    if not complete:
        return []
    pairs = [EntailmentPair(claim.text, checker.passages[i].chunk.text[s.start : s.end])
             for i, s in complete]
    probabilities = checker.entailment.entailment(checker.question, pairs)
    return [c for c, p in zip(complete, probabilities, strict=True) if p >= ENTAILED]


def _best_span(claim: Claim, passage: str, checker: _Checker) -> _Span | None:
    """The passage sentence that covers the claim best, one holding all its names and numbers
    first; two adjacent sentences only when no single sentence supports it and the pair does
    better (the quote stays as tight as the claim allows)."""
    sentences = sentence_spans(passage)

    def span(start: int, end: int) -> _Span:
        v = verdict(claim, passage[start:end])
        score, supports = v.score, v.supports
        if checker.similarity is not None and v.complete:  # never for a missing name or number
            similar = _clip(checker.similarity(claim.text, passage[start:end]))
            score = max(score, similar)
            supports = supports or similar >= SUPPORT
        return _Span(start, end, score, v.complete, supports, v.hit)

    def rank(s: _Span) -> tuple[bool, bool, float]:
        return (s.supports, s.complete, s.score)

    best: _Span | None = None
    for s in sentences:
        candidate = span(s.start, s.end)
        if best is None or rank(candidate) > rank(best) and (
                rank(candidate)[:2] != rank(best)[:2] or candidate.score > best.score + 1e-9):
            best = candidate
    if best is None or best.supports:
        return best
    for first, second in pairwise(sentences):
        candidate = span(first.start, second.end)
        if rank(candidate)[:2] > rank(best)[:2] or (
                rank(candidate)[:2] == rank(best)[:2] and candidate.score > best.score + 0.1):
            best = candidate
    return best


# -- planted instructions -------------------------------------------------------------------------


def _planted_warning(claim: MarkedSentence, cited: list[tuple[int, _Span]], checker: _Checker) -> str:
    """The warning for a claim that repeats a planted instruction of a passage, or is one; "" if
    it does neither. Repeating: its supporting span overlaps the instruction, or the instruction
    holds most of its words (a third, when the claim cites that passage)."""
    for index, span in cited:
        for inst in checker.planted[index]:
            if span.start < inst.end and inst.start < span.end:
                return _warning(checker.passages[index], inst)
    wanted = checker.read(claim)
    cites = {n - 1 for n in claim.markers}
    for index, instructions in enumerate(checker.planted):
        text = checker.passages[index].chunk.text
        for inst in instructions:
            score = verdict(wanted, text[inst.start : inst.end]).score
            if score >= (KEEP if index in cites else SUPPORT):
                return _warning(checker.passages[index], inst)
    own = find_instructions(claim.text)
    if own:
        return f"warning: the answer {own[0].kind}, which the sources do not: do not follow it"
    return ""


def _warning(passage: Passage, inst: Instruction) -> str:
    chunk = passage.chunk
    line = chunk.line + chunk.text.count("\n", 0, inst.start)
    return (f"warning: {chunk.source}, line {line}, {inst.kind}; the answer repeats it, which is "
            "no answer from the sources: do not follow it")


def _clip(value: float) -> float:
    return 0.0 if math.isnan(value) else max(0.0, min(1.0, value))

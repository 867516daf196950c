"""The offline answerer: picks the fewest source sentences that answer the question, or abstains.

No generation: every word of an answer is a sentence of a source, quoted at its exact offsets. Each
candidate sentence of the retrieved passages gets a score that mixes
- meaning: cosine similarity of the question and the sentence (the bundled MiniLM), and
- coverage: the IDF-weighted share of the question's content words (stemmed) found in it.
The best sentence is the answer; a second one is added only when it covers question words the first
misses. The answer is given only when the best sentence is close enough in meaning *and* covers
enough of the question, and when no name or number the question asks about is missing from the
retrieved text; otherwise `supported=False`. The thresholds are calibrated on eval/dev.jsonl
(see BENCHMARKS.md).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.embed import Embedder
from qa.ingest import is_heading
from qa.spans import Span, sentence_spans
from qa.types import Chunk, Passage

NO_ANSWER = "The sources do not answer this question."

# Calibrated on eval/dev.jsonl (bench/calibrate.py); see BENCHMARKS.md.
MIN_SIMILARITY = 0.30  # below this the best sentence is not about the question
MIN_COVERAGE = 0.34  # share of the question's weighted content words in the answer
CONFIDENT_SIMILARITY = 0.62  # at or above this, coverage is not required
COVERAGE_WEIGHT = 0.35
HISTORY_WEIGHT = 0.5
SECOND_SENTENCE_RATIO = 0.8  # a second sentence must score this close to the first

_WORD = re.compile(r"[\w’']+", re.UNICODE)
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how did does do done is are was were be been being "
    "according article text source sources document say said says tell told mention mentioned "
    "mentions report reported describe described give given there any much many kind sort "
    "happen happened would could should will can may might".split()
)


@dataclass(frozen=True)
class Candidate:
    chunk: Chunk
    span: Span  # absolute offsets into the source text
    text: str


@dataclass(frozen=True)
class Pick:
    """The extractive answer before it is turned into an Answer: the chosen sentences, best first,
    or none (abstain), with the figures that decided it."""

    sentences: tuple[Candidate, ...]
    similarity: float
    coverage: float
    missing: tuple[str, ...]  # names/numbers of the question not found in the retrieved text

    @property
    def supported(self) -> bool:
        return bool(self.sentences)


class Lexicon:
    """Stemming, stopwords and IDF over the indexed chunks."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        import Stemmer
        from bm25s.stopwords import STOPWORDS_EN

        self._stem = Stemmer.Stemmer("english").stemWord
        self._stop = frozenset(STOPWORDS_EN) | _QUESTION_WORDS
        df: dict[str, int] = {}
        for c in chunks:
            for t in set(self.terms(c.text)):
                df[t] = df.get(t, 0) + 1
        self._n = max(len(chunks), 1)
        self._df = df
        self.vocabulary = frozenset(df)

    def terms(self, text: str) -> list[str]:
        return [self._stem(w) for w in _words(text) if w not in self._stop and len(w) > 1]

    def idf(self, term: str) -> float:
        return math.log(1 + (self._n + 1) / (self._df.get(term, 0) + 0.5))


class SentenceVectors:
    """Embeddings of source sentences, computed on first use and kept (bounded LRU)."""

    def __init__(self, embedder: Embedder, capacity: int = 20000) -> None:
        self._embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._capacity = capacity

    def get(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for t, v in zip(missing, self._embedder.embed(missing), strict=True):
                self._cache[t] = v
        for t in texts:
            self._cache.move_to_end(t)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return np.stack([self._cache[t] for t in texts])


def pick(question: str, history: Sequence[str], passages: Sequence[Passage],
         question_vec: np.ndarray, context_vec: np.ndarray | None,
         vectors: SentenceVectors, lexicon: Lexicon) -> Pick:
    """Chooses the answer sentences for `question`, or none when the passages do not answer it."""
    candidates = _candidates(passages)
    missing = _missing_names(question, passages)
    if not candidates:
        return Pick((), 0.0, 0.0, missing)
    vecs = vectors.get([c.text for c in candidates])
    sims = vecs @ question_vec
    weights = _term_weights(question, history, lexicon)
    total = sum(weights.values()) or 1.0
    terms = [set(lexicon.terms(c.text)) for c in candidates]
    cover = np.array([sum(w for t, w in weights.items() if t in ts) / total for ts in terms])
    scores = sims + COVERAGE_WEIGHT * cover
    if context_vec is not None:
        scores = scores + HISTORY_WEIGHT * (vecs @ context_vec)
    best = int(np.argmax(scores))
    similarity = float(sims[best] if context_vec is None else max(sims[best], vecs[best] @ context_vec))
    coverage = float(cover[best])
    answerable = not missing and similarity >= MIN_SIMILARITY and (
        coverage >= MIN_COVERAGE or similarity >= CONFIDENT_SIMILARITY)
    if not answerable:
        return Pick((), similarity, coverage, missing)
    chosen = [best]
    covered = terms[best]
    gain = [sum(w for t, w in weights.items() if t in ts and t not in covered) / total
            for ts in terms]
    second = max((i for i in range(len(candidates)) if i != best and gain[i] > 0),
                 key=lambda i: scores[i], default=None)
    if second is not None and scores[second] >= SECOND_SENTENCE_RATIO * scores[best] \
            and gain[second] >= 0.2:
        chosen.append(second)
        coverage = float(coverage + gain[second])
    ordered = sorted(chosen, key=lambda i: (candidates[i].chunk.source, candidates[i].span.start))
    return Pick(tuple(candidates[i] for i in ordered), similarity, coverage, missing)


def _candidates(passages: Sequence[Passage]) -> list[Candidate]:
    seen: set[tuple[str, int]] = set()
    out = []
    for p in passages:
        c = p.chunk
        for s in sentence_spans(c.text):
            span = Span(c.start + s.start, c.start + s.end)
            key = (c.source, span.start)
            if key in seen or is_heading(c.text, s) or len(c.text[s.start : s.end]) < 12:
                continue
            seen.add(key)
            out.append(Candidate(c, span, c.text[s.start : s.end]))
    return out


def _term_weights(question: str, history: Sequence[str], lexicon: Lexicon) -> dict[str, float]:
    weights: dict[str, float] = {}
    for t in lexicon.terms(question):
        weights[t] = lexicon.idf(t)
    if history and len(weights) < 3:  # a short follow-up leans on the question before it
        for t in lexicon.terms(history[-1]):
            weights.setdefault(t, HISTORY_WEIGHT * lexicon.idf(t))
    return weights


def _missing_names(question: str, passages: Sequence[Passage]) -> tuple[str, ...]:
    """Capitalised words (not the first word) and numbers of the question that appear nowhere in
    the retrieved passages: the question is about something the sources do not cover."""
    words = _WORD.findall(question)
    haystack = _fold(" ".join(p.text for p in passages))
    missing = []
    for i, w in enumerate(words):
        w = w.strip("’'")
        if not w or w.lower() in _QUESTION_WORDS:
            continue
        is_name = i > 0 and w[0].isupper() and not w.isupper() or (w.isupper() and len(w) > 1)
        if not (is_name or any(ch.isdigit() for ch in w)):
            continue
        needle = _fold(w)
        if len(needle) > 6:
            needle = needle[: max(6, len(needle) - 3)]  # Zelensky ~ Zelenskyy, Russia ~ Russian
        if needle not in haystack:
            missing.append(w)
    return tuple(missing)


def _words(text: str) -> list[str]:
    return [w.strip("’'") for w in _WORD.findall(_fold(text))]


def _fold(text: str) -> str:
    """Lowercase, accents removed (Erdoğan ~ Erdogan)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))

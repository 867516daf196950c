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
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.embed import Embedder
from qa.ingest import is_heading
from qa.spans import Span, sentence_spans
from qa.types import Answer, Backend, Chunk, Passage

NO_ANSWER = "The sources do not answer this question."


def no_answer(question: str, standalone_question: str, backend: Backend = "extractive",
              notice: str = "") -> Answer:
    """The fixed result for a question the sources do not answer (`supported=False`)."""
    return Answer(question=question, text=NO_ANSWER, supported=False,
                  standalone_question=standalone_question, backend=backend, notice=notice)

# Calibrated on eval/dev.jsonl (bench/calibrate.py); see BENCHMARKS.md.
MIN_SIMILARITY = 0.34  # below this the best sentence is not about the question
MIN_COVERAGE = 0.68  # share of the question's weighted content words in the answer
CONFIDENT_SIMILARITY = 0.52  # at or above this, coverage is not required
COVERAGE_WEIGHT = 0.35
ANSWER_TYPE_BONUS = 0.08  # the sentence holds the kind of thing asked for (a place for "where")
UNKNOWN_TERM_WEIGHT = 0.6  # a question word found nowhere in the sources (often a paraphrase)
ANTECEDENT_WEIGHT = 0.6
SYNONYM_SIMILARITY = 0.5  # word-to-word cosine from which a paraphrase counts as a match
STRICT_TYPES = ("number", "time")
SHORTLIST = 14  # candidate sentences embedded per question (see _shortlist)
PASSAGE_RANK_WEIGHT = 0.5  # in the shortlist prior: the best passage's sentences get +0.5
SOFT_MATCHED = 3  # candidates whose words are compared by meaning (each word costs an embedding)  # words of the previous sentence count for one that starts "he/they ..."
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
    antecedent: str = ""  # the sentence before, when this one opens with a pronoun


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
        return [t for t, _ in self.term_words(text)]

    def term_words(self, text: str) -> list[tuple[str, str]]:
        """(stem, surface word) of each content word."""
        return [(self._stem(w), w) for w in _words(text) if w not in self._stop and len(w) > 1]

    def idf(self, term: str) -> float:
        return math.log(1 + (self._n + 1) / (self._df.get(term, 0) + 0.5))


class SentenceVectors:
    """Embeddings of source sentences, computed on first use and kept (bounded LRU).

    Thread-safe: the chat answers several questions at once. The model runs outside the lock, and
    each call answers from its own copy, so another thread's eviction cannot take a vector away.
    """

    def __init__(self, embedder: Embedder, capacity: int = 20000) -> None:
        self._embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            found.update(zip(missing, self._embedder.embed(missing), strict=True))
        with self._lock:
            for t in dict.fromkeys(texts):
                self._cache[t] = found[t]
                self._cache.move_to_end(t)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])


def pick(question: str, history: Sequence[str], passages: Sequence[Passage],
         question_vec: np.ndarray, context_vec: np.ndarray | None,
         vectors: SentenceVectors, lexicon: Lexicon) -> Pick:
    """Chooses the answer sentences for `question`, or none when the passages do not answer it."""
    candidates = _candidates(passages)
    missing = _missing_names(question, passages)
    if not candidates:
        return Pick((), 0.0, 0.0, missing)
    weights, surface = _term_weights(question, history, lexicon)
    candidates = _shortlist(candidates, passages, weights, lexicon)
    # One embedding pass for the sentences and windows: a cold process pays one model call.
    vectors.get([c.text for c in candidates]
                + [f"{c.antecedent} {c.text}" for c in candidates if c.antecedent])
    vecs = vectors.get([c.text for c in candidates])
    sims = vecs @ question_vec
    if context_vec is not None:
        sims = np.maximum(sims, vecs @ context_vec)
    # "He insisted on a ceasefire" means more together with the sentence that says who "he" is.
    windowed = [i for i, c in enumerate(candidates) if c.antecedent]
    if windowed:
        wvecs = vectors.get([f"{candidates[i].antecedent} {candidates[i].text}" for i in windowed])
        wsims = wvecs @ question_vec
        if context_vec is not None:
            wsims = np.maximum(wsims, wvecs @ context_vec)
        sims[windowed] = np.maximum(sims[windowed], wsims)
    total = sum(weights.values()) or 1.0
    terms = [set(lexicon.terms(c.text)) for c in candidates]
    wanted = answer_type(question)
    typed = np.array([wanted is not None and has_type(c.text, wanted) for c in candidates])
    # Exact word matches first; near synonyms (a word embedding each) only for the front runners.
    cover = np.array([_coverage(weights, surface, c, ts, lexicon, None) / total
                      for c, ts in zip(candidates, terms, strict=True)])
    front = np.argsort(-(sims + COVERAGE_WEIGHT * cover + ANSWER_TYPE_BONUS * typed))[:SOFT_MATCHED]
    vectors.get(list(surface.values())
                + sorted({w for i in front for _, w in lexicon.term_words(candidates[i].text)}))
    for i in front:
        cover[i] = _coverage(weights, surface, candidates[i], terms[i], lexicon, vectors) / total
    scores = sims + COVERAGE_WEIGHT * cover + ANSWER_TYPE_BONUS * typed
    best = int(np.argmax(scores))
    similarity, coverage = float(sims[best]), float(cover[best])
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
    # A question that asks for a number or a time is not answered by text that holds none, and
    # one that asks for names ("which specific leaders", "the name of") by text that names no one
    # beyond what the question already says.
    type_missing = (wanted in STRICT_TYPES and not any(typed[i] for i in chosen)) or (
        asks_for_names(question)
        and not any(new_names(candidates[i].text, question) for i in chosen))
    answerable = not missing and not type_missing and similarity >= MIN_SIMILARITY and (
        coverage >= MIN_COVERAGE or similarity >= CONFIDENT_SIMILARITY)
    if not answerable:
        return Pick((), similarity, coverage,
                    missing + ((f"({wanted or 'name'})",) if type_missing else ()))
    ordered = sorted(chosen, key=lambda i: (candidates[i].chunk.source, candidates[i].span.start))
    return Pick(tuple(candidates[i] for i in ordered), similarity, coverage, missing)


_PRONOUN_OPENING = re.compile(
    r"^(?:\w+,\s+)?(?:he|she|they|it|his|her|their|its|this|these|those|the (?:move|proposal))\b",
    re.IGNORECASE)


def _candidates(passages: Sequence[Passage]) -> list[Candidate]:
    seen: set[tuple[str, int]] = set()
    out = []
    for p in passages:
        c = p.chunk
        previous = ""
        for s in sentence_spans(c.text):
            text = c.text[s.start : s.end]
            span = Span(c.start + s.start, c.start + s.end)
            key = (c.source, span.start)
            if key not in seen and not is_heading(c.text, s) and len(text) >= 12:
                seen.add(key)
                antecedent = previous if _PRONOUN_OPENING.match(text) else ""
                out.append(Candidate(c, span, text, antecedent))
            previous = text
    return out


def _shortlist(candidates: list[Candidate], passages: Sequence[Passage],
               weights: dict[str, float], lexicon: Lexicon) -> list[Candidate]:
    """The SHORTLIST candidates most worth embedding: by the question words they hold and by the
    rank of their passage. Embedding is the cost of a question (each new sentence is a model
    call), so the long tail of sentences that share nothing with the question is not scored."""
    if len(candidates) <= SHORTLIST:
        return candidates
    rank = {p.chunk.id: i for i, p in enumerate(passages)}
    total = sum(weights.values()) or 1.0

    def prior(c: Candidate) -> float:
        words = set(lexicon.terms(c.text)) | set(lexicon.terms(c.antecedent))
        return (sum(w for t, w in weights.items() if t in words) / total
                + PASSAGE_RANK_WEIGHT / (1 + rank.get(c.chunk.id, len(passages))))

    keep = set(sorted(range(len(candidates)), key=lambda i: -prior(candidates[i]))[:SHORTLIST])
    return [c for i, c in enumerate(candidates) if i in keep]


def _coverage(weights: dict[str, float], surface: dict[str, str], cand: Candidate,
              terms: set[str], lexicon: Lexicon, vectors: SentenceVectors | None) -> float:
    """Weighted share of the question's words in the sentence: exact (stemmed) matches count
    fully, the previous sentence's words partly (for "he said ..."), and a near-synonym by the
    model's word similarity ("gratitude" ~ "thanked") in proportion to that similarity."""
    before = set(lexicon.terms(cand.antecedent))
    got = 0.0
    unmatched = []
    for t, w in weights.items():
        if t in terms:
            got += w
        elif t in before:
            got += ANTECEDENT_WEIGHT * w
        else:
            unmatched.append(t)
    words = sorted({w for _, w in lexicon.term_words(cand.text)})
    if unmatched and words and vectors is not None:
        q = vectors.get([surface[t] for t in unmatched])
        best = (q @ vectors.get(words).T).max(axis=1)
        for t, sim in zip(unmatched, best, strict=True):
            if sim >= SYNONYM_SIMILARITY:
                got += weights[t] * float(sim)
    return got


# --- answer types: what kind of thing the question asks for ------------------------------------
_DAYS = ("monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|"
         "may|june|july|august|september|october|november|december|today|tomorrow|yesterday|"
         "week|month|year|day|easter|christmas|morning|evening|night|soon|early|later")
_TYPE_PATTERNS = {
    "time": re.compile(rf"\b(?:{_DAYS})s?\b|\b(?:1[89]|20)\d\d\b", re.IGNORECASE),
    "place": re.compile(r"\b(?:in|at|to|from|on)\s+(?:the\s+)?[A-Z][\w’'-]*"),
    "number": re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                         r"twelve|twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|"
                         r"billions?|dozens?)\b", re.IGNORECASE),
    "person": re.compile(r"\b[A-Z][a-z]+\s+[A-Z][\w’'-]+"),
}


_NAME_REQUEST = re.compile(r"\b(?:names?|specific(?:ally)?|exactly|precisely|by name)\b",
                           re.IGNORECASE)
_FULL_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w’'.-]+(?:\s+[A-Z][\w’'.-]+)+)")


def asks_for_names(question: str) -> bool:
    return bool(_NAME_REQUEST.search(question)) and not re.search(
        r"\bhow (?:many|much)\b", question, re.IGNORECASE)


def new_names(sentence: str, question: str) -> list[str]:
    """Multi-word proper names (Recep Tayyip Erdoğan, Security Council) of `sentence` that the
    question does not already contain."""
    q = _fold(question)
    return [m for m in _FULL_NAME.findall(sentence)
            if not all(_fold(part) in q for part in m.split())]


def answer_type(question: str) -> str | None:
    q = question.lower()
    if re.search(r"\bhow (?:many|much|long|often|old)\b|\bwhat (?:number|percentage|amount)", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (?:day|date|time|year|month)\b|\bhow soon\b", q):
        return "time"
    if re.search(r"\bwhere\b|\b(?:which|what) (?:city|country|place|location|venue)\b", q):
        return "place"
    if re.search(r"^(?:\w+\s+)?(?:who|whom)\b|\bwhich (?:leader|official|president|person)", q):
        return "person"
    return None


def has_type(sentence: str, kind: str) -> bool:
    return bool(_TYPE_PATTERNS[kind].search(sentence))


def _term_weights(question: str, history: Sequence[str], lexicon: Lexicon
                  ) -> tuple[dict[str, float], dict[str, str]]:
    """Weight of each content word (stem) of the question, and a surface form of each."""
    weights: dict[str, float] = {}
    surface: dict[str, str] = {}
    for t, word in lexicon.term_words(question):
        weights[t] = lexicon.idf(t) if t in lexicon.vocabulary else UNKNOWN_TERM_WEIGHT
        surface.setdefault(t, word)
    if history and len(weights) < 3:  # a short follow-up leans on the question before it
        for t, word in lexicon.term_words(history[-1]):
            if t in lexicon.vocabulary and t not in weights:
                weights[t] = HISTORY_WEIGHT * lexicon.idf(t)
                surface[t] = word
    return weights, surface


def _missing_names(question: str, passages: Sequence[Passage]) -> tuple[str, ...]:
    """Capitalised words (not the first word) and numbers of the question that appear nowhere in
    the retrieved passages: the question is about something the sources do not cover."""
    words = _WORD.findall(question)
    haystack = _fold(" ".join(p.text for p in passages))
    missing = []
    for i, w in enumerate(words):
        w = re.sub(r"[’']s$", "", w).strip("’'")  # Putin's -> Putin
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
    return [re.sub(r"[’']s$", "", w).strip("’'") for w in _WORD.findall(_fold(text))]


def _fold(text: str) -> str:
    """Lowercase, accents removed (Erdoğan ~ Erdogan)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))

"""What the offline answerer knows about each candidate sentence: a row of numbered features.

A candidate is a sentence of a retrieved passage. Its features say how well it answers the question:
- meaning: cosine similarity of the question (and of the conversation) to the sentence read with its
  opening pronoun resolved (`qa.offline.resolve`). (The best clause's similarity was tried too: no gain
  on the question sets, for a third more model work on every new sentence.)
- words: the IDF-weighted share of the question's content words the sentence holds (stems, with
  "Ukraine" ~ "Ukrainian"), and the same with near-synonyms by word similarity;
- focus: which question words the sentence's meaning does not account for. The question's vector
  with a word's tokens left out of its mean pooling (`Encoded.without`) shows both how much that
  word matters to the question and how much of the sentence's similarity rests on it; a sentence
  on the right topic that says nothing of the question's key word ("Who will head the
  delegation?") leaves an important word unsupported;
- kind: whether it holds the kind of thing asked for (a time for "when", a name for "who"), and
  names the question does not already give;
- where: the rank of its passage, the share of its words that are new to the question.

`qa.offline.answer_model` turns the rows into a ranking and an answer-or-abstain decision.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from qa.offline.aliases import aliases, mentioned
from qa.offline.questions import (
    QUESTION_WORDS,
    WORD,
    Question,
    actor_agreement,
    has_type,
    new_names,
    words,
)
from qa.offline.resolve import resolve_from, subject
from qa.offline.text import fold
from qa.sources.spans import Span, is_heading, sentence_spans
from qa.store.embed import Embedder, Encoded
from qa.store.sentences import ChunkTexts, SentenceStore
from qa.types import Chunk, Passage

FEATURES = (
    "sim",  # cosine of question and resolved sentence
    "sim_context",  # cosine of question + earlier turns and the sentence (= sim without history)
    "coverage",  # IDF-weighted share of question words in the sentence (exact stems)
    "soft_coverage",  # the same, near-synonyms counted by word similarity
    "unsupported",  # importance-weighted share of question words the sentence does not support
    "unsupported_max",  # the most important unsupported question word
    "type_strong",  # holds what was asked, not already in the question: a weekday/date/year for
    #                 "when", a number for "how many", a reason ("because", "due to") for "why"
    "type_weak",  # holds a vaguer form of it ("soon", "day", "in ...")
    "new_name",  # names someone or something the question does not
    "passage_rank",  # 1 / (1 + rank of its passage)
    "novelty",  # share of its content words the question does not have
    "sim_previous",  # cosine of the previous question and the sentence (0 without history)
    "same_actor",  # +1: the sentence's subject is the question's ("What did Erdoğan say" / "Erdoğan
    #                said"), -1: another named subject, 0: either has none
    "restates_focus",  # the question's "which <kind>" is only restated ("Which European leaders"
    #                    / "European leaders demanded"), naming no one new
    "name_coverage",  # share of the question's names (Putin, Istanbul) in the sentence
    "rest_coverage",  # share of its other words ("attend", "delegation"), near-synonyms counted
    "rest_weakest",  # how well the least supported of those other words is matched (0..1)
    "previous_answer",  # in a follow-up: the sentence that best answers the previous question
    "after_previous",  # in a follow-up: the sentence right after that one
    "heading",  # a title or heading, not a sentence: rarely the answer...
    "heading_asked",  # ...unless the question asks about a headline, heading or title
)

UNKNOWN_TERM_WEIGHT = 0.6  # a question word found nowhere in the sources (often a paraphrase)
ANTECEDENT_WEIGHT = 0.6  # a word of the sentence before one that opens "he/they ..."
HISTORY_WEIGHT = 0.5
SYNONYM_SIMILARITY = 0.5  # word-to-word cosine from which a paraphrase counts as a match
SYNONYM_CANDIDATES = 8  # candidates whose words are compared by meaning (see featurize)
PREFIX_MIN = 5  # "ukrain" ~ "ukrainian", "russia" ~ "russian": stems that extend each other
TERM_CACHE = 8192  # texts whose content words a Lexicon keeps (sentences: ~100 bytes each)


@dataclass(frozen=True)
class Candidate:
    chunk: Chunk
    span: Span  # absolute offsets into the source text
    text: str  # the source sentence, quoted as is
    resolved: str  # the sentence with an opening pronoun replaced by whom it refers to
    antecedent: str = ""  # the sentence before, when this one opens with a pronoun
    heading: bool = False  # a title or heading line, not a sentence
    # The sentence that names whom its opening pronoun stands for ("Putin also revisited ..." for
    # "He blamed Kyiv ..."): quoted too when the question asks who.
    named_in: Candidate | None = None
    previous: tuple[str, ...] = ()  # the sentences before it (nearest last) its pronoun was read in


class Lexicon:
    """Stemming, stopwords and IDF over the indexed chunks."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        import Stemmer

        self._stem = Stemmer.Stemmer("english").stemWord
        self._stop = stopwords()
        self._cached_term_words = lru_cache(maxsize=TERM_CACHE)(self._term_words)
        df: dict[str, int] = {}
        mid: dict[str, int] = {}  # surface word (lowercased) -> times seen inside a sentence
        capitalised: dict[str, int] = {}  # ... of those, written with a capital
        for c in chunks:  # (not through the cache: each chunk is read once here)
            for t in {t for t, _ in self._term_words(c.text)}:
                df[t] = df.get(t, 0) + 1
            # Inside a sentence: after a word, comma or bracket and a space (the first word of a
            # sentence is capitalised anyway).
            prose = "\n".join(line for line in c.text.split("\n")  # not in Title Case headings
                              if line.rstrip()[-1:] in (".", "!", "?", "…", '"', "”", "’", ")"))
            for m in _MID_SENTENCE_WORD.finditer(prose):
                w = m.group(1)
                key = w.lower()
                mid[key] = mid.get(key, 0) + 1
                if w[0].isupper():
                    capitalised[key] = capitalised.get(key, 0) + 1
        by_stem: dict[str, list[int]] = {}
        for key, n in mid.items():  # once per distinct word, not per occurrence
            w = re.sub(r"[’']s$", "", fold(key)).strip("’'")
            if w and w not in self._stop:
                counts = by_stem.setdefault(self._stem(w), [0, 0])
                counts[0] += n
                counts[1] += capitalised.get(key, 0)
        self._names = frozenset(t for t, (n, cap) in by_stem.items() if cap >= 0.7 * n)
        self._n = max(len(chunks), 1)
        self._df = df
        self.vocabulary = frozenset(df)

    def terms(self, text: str) -> list[str]:
        return [t for t, _ in self.term_words(text)]

    def term_words(self, text: str) -> tuple[tuple[str, str], ...]:
        """(stem, surface word) of each content word. Kept for the latest TERM_CACHE texts: the
        same candidate sentences are read by every question about them."""
        return self._cached_term_words(text)

    def _term_words(self, text: str) -> tuple[tuple[str, str], ...]:
        return tuple((self._stem(w), w) for w in content_words(text, self._stop))

    def idf(self, term: str) -> float:
        return math.log(1 + (self._n + 1) / (self._df.get(term, 0) + 0.5))

    def is_name(self, term: str) -> bool:
        """The sources write this word capitalised inside sentences (Putin, Ukrainian, Istanbul)."""
        return term in self._names


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN) | QUESTION_WORDS


def content_words(text: str, stop: frozenset[str] | None = None) -> list[str]:
    """The words of `text` that are no stopwords (folded: lowercase, no accents), in order."""
    stop = stopwords() if stop is None else stop
    return [w for w in words(text) if w not in stop and len(w) > 1]


_MID_SENTENCE_WORD = re.compile(r"(?<=[\w,;)\]’'] )([\w’']+)")


def term_in(term: str, terms: set[str]) -> bool:
    """`term` is one of `terms`, or one extends the other ("ukrain" ~ "ukrainian")."""
    if term in terms:
        return True
    if len(term) < PREFIX_MIN:
        return False
    return any(len(u) >= PREFIX_MIN and (u.startswith(term) or term.startswith(u)) for u in terms)


class SentenceVectors:
    """Embeddings of source sentences (and words), kept (LRU) once used. A text not kept is
    looked up in `stored` (the vectors the indexer stored: `stored_texts` of every chunk), and
    only what is not there either goes through the model (an index built before sentence
    vectors were stored has none: everything then goes through the model, as it always did).

    Thread-safe: the chat answers several questions at once. The model runs outside the lock, and
    each call answers from its own copy, so another thread's eviction cannot take a vector away.
    """

    def __init__(self, embedder: Embedder, stored: SentenceStore | None = None,
                 capacity: int = 20000) -> None:
        self._embedder = embedder
        self.stored = stored
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def put(self, texts: Sequence[str], vecs: np.ndarray) -> None:
        """Keeps vectors computed elsewhere (the question's own model call)."""
        with self._lock:
            for t, v in zip(texts, vecs, strict=True):
                self._cache[t] = v
                self._cache.move_to_end(t)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)

    def cached(self, texts: Sequence[str]) -> list[str]:
        with self._lock:
            return [t for t in texts if t in self._cache]

    def get(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing and self.stored is not None:
            found.update(self.stored.lookup(missing))
            missing = [t for t in missing if t not in found]
        if missing:
            found.update(zip(missing, self._embedder.embed(missing), strict=True))
        with self._lock:
            for t in dict.fromkeys(texts):
                self._cache[t] = found[t]
                self._cache.move_to_end(t)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])


def stored_texts(chunk: Chunk) -> ChunkTexts:
    """The texts of `chunk` that `featurize` embeds whenever the chunk is retrieved: each candidate
    sentence as it reads with its opening pronoun resolved (`Candidate.resolved`; a sentence
    without one reads as itself), its content words (for near-synonyms) and the words of its
    named subject (for "what did X say"). The indexer stores their vectors
    (`qa.store.sentences`). `candidates` resolves pronouns within a chunk only, so a chunk alone
    gives the same texts as the chunk among other passages."""
    sentences = [c.resolved for c in candidates([Passage(chunk, 0.0)])]
    words = [w for t in sentences for w in (*content_words(t), *subject(t).split())]
    return ChunkTexts(list(dict.fromkeys(sentences)), list(dict.fromkeys(words)))


# --- candidates ----------------------------------------------------------------------------------
_PRONOUN_OPENING = re.compile(
    r"^(?:\w+,\s+)?(?:he|she|they|it|his|her|their|its|this|these|those|the (?:move|proposal))\b",
    re.IGNORECASE)


def candidates(passages: Sequence[Passage]) -> list[Candidate]:
    """The sentences and headings of the passages (scraps left out), each once."""
    seen: set[tuple[str, int]] = set()
    out = []
    for p in passages:
        c = p.chunk
        before: list[Candidate] = []  # the sentences so far, as candidates of their own
        for s in sentence_spans(c.text):
            text = c.text[s.start : s.end]
            span = Span(c.start + s.start, c.start + s.end)
            key = (c.source, span.start)
            heading = is_heading(c.text, s)
            if key not in seen and len(text) >= 12:
                seen.add(key)
                recent = before[-3:]
                antecedent = before[-1].text if before and _PRONOUN_OPENING.match(text) else ""
                resolved, source = ((text, None) if heading
                                    else resolve_from(text, [b.text for b in recent]))
                here = Candidate(c, span, text, resolved, antecedent, heading,
                                 recent[source] if source is not None else None,
                                 tuple(b.text for b in recent))
                out.append(here)
            else:  # read only as an antecedent for the sentences after it: its text is enough
                here = Candidate(c, span, text, text, heading=heading)
            if not heading:  # a heading is no antecedent for "he"
                before.append(here)
    return out


# --- the question --------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuestionTerms:
    weights: dict[str, float]  # stem -> weight (IDF; less for words the sources never use)
    surface: dict[str, str]  # stem -> a word of the question with that stem
    total: float
    names: frozenset[str]  # the stems that are names (capitalised in the sources or the question)


def question_terms(question: str, history: Sequence[str], lexicon: Lexicon) -> QuestionTerms:
    weights: dict[str, float] = {}
    surface: dict[str, str] = {}
    capitalised = {fold(w) for i, w in enumerate(WORD.findall(question)) if i and w[0].isupper()}
    names = set()
    for t, word in lexicon.term_words(question):
        weights[t] = lexicon.idf(t) if t in lexicon.vocabulary else UNKNOWN_TERM_WEIGHT
        surface.setdefault(t, word)
        if lexicon.is_name(t) or (t not in lexicon.vocabulary and word in capitalised):
            names.add(t)
    if history and len(weights) < 3:  # a short follow-up leans on the question before it
        for t, word in lexicon.term_words(history[-1]):
            if t in lexicon.vocabulary and t not in weights:
                weights[t] = HISTORY_WEIGHT * lexicon.idf(t)
                surface[t] = word
    return QuestionTerms(weights, surface, sum(weights.values()) or 1.0, frozenset(names))


def question_texts(qt: QuestionTerms, history: Sequence[str]) -> list[str]:
    """The question-side texts `featurize` embeds besides the question: its content words and the
    previous question. A caller that embeds them together with the question pays one model call
    per question, not two."""
    return list(qt.surface.values()) + ([history[-1]] if history else [])


def featurize(q: Question, qt: QuestionTerms, cands: Sequence[Candidate], ranks: Sequence[int],
              asked_encoded: Encoded, question_vec: np.ndarray, context_vec: np.ndarray | None,
              vectors: SentenceVectors, lexicon: Lexicon) -> np.ndarray:
    """The (len(cands), len(FEATURES)) feature matrix. `qt` are the terms of `q.asked` (the
    question with follow-up pronouns resolved: "What condition did he set?" -> "... Zelenskyy
    ..."), `asked_encoded` it through the model with its token states kept; `ranks` is each
    candidate's passage rank."""
    n = len(cands)
    asked, history = q.asked, q.history
    terms = [set(lexicon.terms(c.resolved)) for c in cands]
    before = [set(lexicon.terms(c.antecedent)) for c in cands]
    exact = np.array([[term_in(t, terms[i]) for i in range(n)] for t in qt.weights], dtype=float)
    for row, t in enumerate(qt.weights):  # "American" is in "Former U.S. President ..."
        if aliases(qt.surface[t]):  # (and "the military alliance" is NATO)
            exact[row] = np.maximum(exact[row], [mentioned(qt.surface[t], c.resolved)
                                                 for c in cands])
    partly = np.array([[term_in(t, before[i]) for i in range(n)] for t in qt.weights], dtype=float)
    w = np.array(list(qt.weights.values()))
    matched = np.maximum(exact, ANTECEDENT_WEIGHT * partly)
    coverage = w @ matched / qt.total if len(w) else np.zeros(n)
    passage_rank = 1.0 / (1.0 + np.asarray(ranks, dtype=float))

    # Near-synonyms cost a model call per new word: only for the likeliest candidates by words
    # and passage rank (each new sentence of a large corpus brings a dozen new words).
    likely = set(np.argsort(-(coverage + 0.5 * passage_rank))[:SYNONYM_CANDIDATES].tolist())
    cand_words = [sorted({w for _, w in lexicon.term_words(c.resolved)}) if i in likely else []
                  for i, c in enumerate(cands)]
    # One model call for everything new: sentences and words (the question's own texts are
    # usually embedded already, with the question: see question_texts).
    previous = [q.previous] if history else []
    actor = q.actor
    speakers = sorted({w for c in cands for w in subject(c.resolved).split()}) if actor else []
    vectors.get(question_texts(qt, history) + [c.resolved for c in cands]
                + sorted({w for ws in cand_words for w in ws}) + actor.split() + speakers)
    sent = vectors.get([c.resolved for c in cands])
    sim = sent @ question_vec
    if asked != q.text:
        question_vec = asked_encoded.vector
        sim = np.maximum(sim, sent @ question_vec)
    sim_context = np.maximum(sim, sent @ context_vec) if context_vec is not None else sim

    synonym = np.zeros_like(matched)
    if len(w):
        qwords = vectors.get([qt.surface[t] for t in qt.weights])
        for i, ws in enumerate(cand_words):
            if ws:
                best = (qwords @ vectors.get(ws).T).max(axis=1)
                synonym[:, i] = np.where(best >= SYNONYM_SIMILARITY, best, 0.0)
    soft = np.maximum(matched, synonym)
    soft_coverage = w @ soft / qt.total if len(w) else np.zeros(n)

    if qt.weights:
        qself = asked_encoded.vector
        qminus = np.stack([asked_encoded.without(qt.surface[t]) for t in qt.weights])
        importance = np.clip(1.0 - qminus @ qself, 0.0, None)  # (T,)
        drop = (sent @ qself)[None, :] - qminus @ sent.T  # (T, n)
        # A word supports the match in proportion to the share of the question's meaning it
        # carries that the sentence's similarity also loses without it.
        ratio = drop / (importance[:, None] + 1e-6)
        support = np.maximum(soft, np.clip(ratio, 0.0, 1.0))
        gap = importance[:, None] * (1.0 - support)
        unsupported = gap.sum(axis=0) / (importance.sum() + 1e-9)
        unsupported_max = gap.max(axis=0)
    else:
        unsupported = unsupported_max = np.zeros(n)

    wanted = q.kind
    strong = np.array([has_type(c.text, wanted, True, asked) for c in cands], dtype=float)
    weak = np.array([has_type(c.text, wanted, False, asked) for c in cands], dtype=float)
    new_name = np.array([bool(new_names(c.text, asked)) for c in cands], dtype=float)
    qset = set(qt.weights)
    novelty = np.array([len(ts - qset) / max(len(ts), 1) for ts in terms])
    sim_previous = (sent @ vectors.get(previous)[0]) if previous else np.zeros(n)

    def similarity(a: str, b: str) -> float:
        va, vb = vectors.get([a, b])
        return float(va @ vb)

    same_actor = np.array([actor_agreement(actor, c.resolved, similarity) for c in cands],
                          dtype=float)
    focus = q.focus
    restates = np.array([bool(focus) and term_in(lexicon.terms(focus)[-1], terms[i])
                         and not new_names(c.text, asked) for i, c in enumerate(cands)]
                        if focus and lexicon.terms(focus) else np.zeros(n), dtype=float)
    is_name = np.array([t in qt.names for t in qt.weights], dtype=bool)
    name_w, rest_w = w * is_name, w * ~is_name
    name_coverage = (name_w @ matched / name_w.sum() if name_w.sum() else np.ones(n))
    rest_coverage = (rest_w @ soft / rest_w.sum() if rest_w.sum() else np.ones(n))
    rest_weakest = (soft[~is_name].min(axis=0) if (~is_name).any() else np.ones(n))
    previous_answer, after_previous = np.zeros(n), np.zeros(n)
    if previous:
        before_terms = question_terms(history[-1], history[:-1], lexicon)
        prior = sim_previous + 0.35 * np.array(
            [sum(wt for t, wt in before_terms.weights.items() if term_in(t, terms[i]))
             for i in range(n)]) / before_terms.total
        best = int(np.argmax(prior))
        previous_answer[best] = 1.0
        following = [i for i in range(n) if cands[i].chunk.source == cands[best].chunk.source
                     and cands[i].span.start > cands[best].span.start]
        if following:
            after_previous[min(following, key=lambda i: cands[i].span.start)] = 1.0
    heading = np.array([c.heading for c in cands], dtype=float)
    heading_asked = heading * q.asks_heading
    columns = {"sim": sim, "sim_context": sim_context,
               "coverage": coverage, "soft_coverage": soft_coverage, "unsupported": unsupported,
               "unsupported_max": unsupported_max, "type_strong": strong, "type_weak": weak,
               "new_name": new_name, "passage_rank": passage_rank, "novelty": novelty,
               "sim_previous": sim_previous, "same_actor": same_actor, "restates_focus": restates,
               "name_coverage": name_coverage, "rest_coverage": rest_coverage,
               "rest_weakest": rest_weakest, "previous_answer": previous_answer,
               "after_previous": after_previous, "heading": heading, "heading_asked": heading_asked}
    return np.stack([np.asarray(columns[f], dtype=float) for f in FEATURES], axis=1)


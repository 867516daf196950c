"""What the offline answerer knows about each candidate sentence: a row of numbered features.

A candidate is a sentence of a retrieved passage. Its features say how well it answers the question:
- meaning: cosine similarity of the question (and of the conversation) to the sentence read with its
  opening pronoun resolved (`qa.resolve`). (The best clause's similarity was tried too: no gain
  on the question sets, for a third more model work on every new sentence.)
- words: the IDF-weighted share of the question's content words the sentence holds (stems, with
  "Ukraine" ~ "Ukrainian"), and the same with near-synonyms by word similarity;
- focus: which question words the sentence's meaning does not account for. Dropping a word from the
  question and re-embedding it shows both how much that word matters to the question and how much
  of the sentence's similarity rests on it; a sentence on the right topic that says nothing of the
  question's key word ("Who will head the delegation?") leaves an important word unsupported;
- kind: whether it holds the kind of thing asked for (a time for "when", a name for "who"), and
  names the question does not already give;
- where: the rank of its passage, the share of its words that are new to the question.

`qa.answer_model` turns the rows into a ranking and an answer-or-abstain decision.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.embed import Embedder, Encoded
from qa.ingest import is_heading
from qa.resolve import resolve, subject
from qa.spans import Span, sentence_spans
from qa.types import Chunk, Passage

FEATURES = (
    "sim",  # cosine of question and resolved sentence
    "sim_context",  # cosine of question + earlier turns and the sentence (= sim without history)
    "coverage",  # IDF-weighted share of question words in the sentence (exact stems)
    "soft_coverage",  # the same, near-synonyms counted by word similarity
    "unsupported",  # importance-weighted share of question words the sentence does not support
    "unsupported_max",  # the most important unsupported question word
    "type_strong",  # holds what was asked, not already in the question: a weekday/date/year for
    #                 "when", a number for "how many", a reason ("because", "to help") for "why"
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
PREFIX_MIN = 5  # "ukrain" ~ "ukrainian", "russia" ~ "russian": stems that extend each other
METONYM_SIMILARITY = 0.6  # word cosine from which two names may stand for each other (Moscow ~ Russia)

_WORD = re.compile(r"[\w’']+", re.UNICODE)
QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how did does do done is are was were be been being "
    "according article text source sources document say said says tell told mention mentioned "
    "mentions report reported describe described give given there any much many kind sort "
    "happen happened would could should will can may might".split()
)


@dataclass(frozen=True)
class Candidate:
    chunk: Chunk
    span: Span  # absolute offsets into the source text
    text: str  # the source sentence, quoted as is
    resolved: str  # the sentence with an opening pronoun replaced by whom it refers to
    antecedent: str = ""  # the sentence before, when this one opens with a pronoun
    heading: bool = False  # a title or heading line, not a sentence


class Lexicon:
    """Stemming, stopwords and IDF over the indexed chunks."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        import Stemmer
        from bm25s.stopwords import STOPWORDS_EN

        self._stem = Stemmer.Stemmer("english").stemWord
        self._stop = frozenset(STOPWORDS_EN) | QUESTION_WORDS
        df: dict[str, int] = {}
        capitalised: dict[str, list[int]] = {}  # stem -> [inside a sentence, of those capitalised]
        for c in chunks:
            for t in set(self.terms(c.text)):
                df[t] = df.get(t, 0) + 1
            for m in _WORD.finditer(c.text):
                before = c.text[: m.start()].rstrip()
                if not before or before[-1] in ".!?:\n\"“":
                    continue  # the first word of a sentence is capitalised anyway
                w = re.sub(r"[’']s$", "", fold(m.group(0))).strip("’'")
                if w in self._stop:
                    continue
                counts = capitalised.setdefault(self._stem(w), [0, 0])
                counts[0] += 1
                counts[1] += m.group(0)[0].isupper()
        self._n = max(len(chunks), 1)
        self._df = df
        self._names = frozenset(t for t, (n, cap) in capitalised.items() if cap >= 0.7 * n)
        self.vocabulary = frozenset(df)

    def terms(self, text: str) -> list[str]:
        return [t for t, _ in self.term_words(text)]

    def term_words(self, text: str) -> list[tuple[str, str]]:
        """(stem, surface word) of each content word."""
        return [(self._stem(w), w) for w in words(text) if w not in self._stop and len(w) > 1]

    def idf(self, term: str) -> float:
        return math.log(1 + (self._n + 1) / (self._df.get(term, 0) + 0.5))

    def is_name(self, term: str) -> bool:
        """The sources write this word capitalised inside sentences (Putin, Ukrainian, Istanbul)."""
        return term in self._names


def term_in(term: str, terms: set[str]) -> bool:
    """`term` is one of `terms`, or one extends the other ("ukrain" ~ "ukrainian")."""
    if term in terms:
        return True
    if len(term) < PREFIX_MIN:
        return False
    return any(len(u) >= PREFIX_MIN and (u.startswith(term) or term.startswith(u)) for u in terms)


class SentenceVectors:
    """Embeddings of source sentences (and words), computed on first use and kept (LRU).

    Thread-safe: the chat answers several questions at once. The model runs outside the lock, and
    each call answers from its own copy, so another thread's eviction cannot take a vector away.
    """

    def __init__(self, embedder: Embedder, capacity: int = 20000) -> None:
        self._embedder = embedder
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
        if missing:
            found.update(zip(missing, self._embedder.embed(missing), strict=True))
        with self._lock:
            for t in dict.fromkeys(texts):
                self._cache[t] = found[t]
                self._cache.move_to_end(t)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])


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
        before: list[str] = []
        for s in sentence_spans(c.text):
            text = c.text[s.start : s.end]
            span = Span(c.start + s.start, c.start + s.end)
            key = (c.source, span.start)
            heading = is_heading(c.text, s)
            if key not in seen and len(text) >= 12:
                seen.add(key)
                antecedent = before[-1] if before and _PRONOUN_OPENING.match(text) else ""
                resolved = text if heading else resolve(text, before[-3:])
                out.append(Candidate(c, span, text, resolved, antecedent, heading))
            if not heading:  # a heading is no antecedent for "he"
                before.append(text)
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
    capitalised = {fold(w) for i, w in enumerate(_WORD.findall(question)) if i and w[0].isupper()}
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


def question_texts(question: str, history: Sequence[str], lexicon: Lexicon) -> list[str]:
    """The question-side texts `featurize` embeds besides the question: its content words and the
    previous question. A caller that embeds them together with the question pays one model call
    per question, not two."""
    qt = question_terms(resolve_question(question, history), history, lexicon)
    return list(qt.surface.values()) + ([history[-1]] if history else [])


def featurize(question: str, history: Sequence[str], cands: Sequence[Candidate],
              ranks: Sequence[int], asked_encoded: Encoded, question_vec: np.ndarray,
              context_vec: np.ndarray | None, vectors: SentenceVectors, lexicon: Lexicon
              ) -> np.ndarray:
    """The (len(cands), len(FEATURES)) feature matrix. `asked_encoded` is the question with
    follow-up pronouns resolved (`resolve_question`) through the model, token states kept;
    `ranks` is each candidate's passage rank."""
    n = len(cands)
    asked = resolve_question(question, history)  # "What condition did he set?" -> "... Zelenskyy ..."
    qt = question_terms(asked, history, lexicon)
    # One model call for everything new: sentences and words (the question's own texts are
    # usually embedded already, with the question: see question_texts).
    cand_words = [sorted({w for _, w in lexicon.term_words(c.resolved)}) for c in cands]
    previous = [history[-1]] if history else []
    actor = question_actor(asked)
    speakers = sorted({w for c in cands for w in subject(c.resolved).split()}) if actor else []
    vectors.get(question_texts(question, history, lexicon) + [c.resolved for c in cands]
                + sorted({w for ws in cand_words for w in ws}) + actor.split() + speakers)
    sent = vectors.get([c.resolved for c in cands])
    sim = sent @ question_vec
    if asked != question:
        question_vec = asked_encoded.vector
        sim = np.maximum(sim, sent @ question_vec)
    sim_context = np.maximum(sim, sent @ context_vec) if context_vec is not None else sim

    terms = [set(lexicon.terms(c.resolved)) for c in cands]
    before = [set(lexicon.terms(c.antecedent)) for c in cands]
    exact = np.array([[term_in(t, terms[i]) for i in range(n)] for t in qt.weights], dtype=float)
    partly = np.array([[term_in(t, before[i]) for i in range(n)] for t in qt.weights], dtype=float)
    w = np.array(list(qt.weights.values()))
    matched = np.maximum(exact, ANTECEDENT_WEIGHT * partly)
    coverage = w @ matched / qt.total if len(w) else np.zeros(n)
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

    wanted = answer_type(asked)
    strong = np.array([has_type(c.text, wanted, True, asked) for c in cands], dtype=float)
    weak = np.array([has_type(c.text, wanted, False, asked) for c in cands], dtype=float)
    new_name = np.array([bool(new_names(c.text, asked)) for c in cands], dtype=float)
    passage_rank = 1.0 / (1.0 + np.asarray(ranks, dtype=float))
    qset = set(qt.weights)
    novelty = np.array([len(ts - qset) / max(len(ts), 1) for ts in terms])
    sim_previous = (sent @ vectors.get(previous)[0]) if previous else np.zeros(n)

    def similarity(a: str, b: str) -> float:
        va, vb = vectors.get([a, b])
        return float(va @ vb)

    same_actor = np.array([actor_agreement(actor, c.resolved, similarity) for c in cands],
                          dtype=float)
    focus = which_focus(asked)
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
        prior = sent @ vectors.get(previous)[0] + 0.35 * np.array(
            [sum(wt for t, wt in before_terms.weights.items() if term_in(t, terms[i]))
             for i in range(n)]) / before_terms.total
        best = int(np.argmax(prior))
        previous_answer[best] = 1.0
        following = [i for i in range(n) if cands[i].chunk.source == cands[best].chunk.source
                     and cands[i].span.start > cands[best].span.start]
        if following:
            after_previous[min(following, key=lambda i: cands[i].span.start)] = 1.0
    heading = np.array([c.heading for c in cands], dtype=float)
    heading_asked = heading * bool(_ASKS_HEADING.search(asked))
    columns = {"sim": sim, "sim_context": sim_context,
               "coverage": coverage, "soft_coverage": soft_coverage, "unsupported": unsupported,
               "unsupported_max": unsupported_max, "type_strong": strong, "type_weak": weak,
               "new_name": new_name, "passage_rank": passage_rank, "novelty": novelty,
               "sim_previous": sim_previous, "same_actor": same_actor, "restates_focus": restates,
               "name_coverage": name_coverage, "rest_coverage": rest_coverage,
               "rest_weakest": rest_weakest, "previous_answer": previous_answer,
               "after_previous": after_previous, "heading": heading, "heading_asked": heading_asked}
    return np.stack([np.asarray(columns[f], dtype=float) for f in FEATURES], axis=1)


_ASKS_HEADING = re.compile(r"\b(?:head(?:line|ing)s?|sub-?head(?:line|ing)s?|titles?)\b",
                           re.IGNORECASE)
_QUESTION_PRONOUN = re.compile(r"\b(he|she|him|her|his)\b", re.IGNORECASE)  # "they" is often the talks


def resolve_question(question: str, history: Sequence[str]) -> str:
    """A follow-up with its pronouns replaced by the previous question's named subject:
    "What condition did he set?" after "How did Zelenskyy react?" asks about Zelenskyy."""
    if not history or not _QUESTION_PRONOUN.search(question):
        return question
    before = history[-1]
    name = question_actor(before) or next(
        (m for m in _FULL_NAME.findall(before)), "") or next(
        (w for i, w in enumerate(_WORD.findall(before)) if i and w[0].isupper()), "")
    if not name:
        return question

    def swap(m: re.Match[str]) -> str:
        return f"{name}’s" if m.group(1).lower() == "his" else name

    return _QUESTION_PRONOUN.sub(swap, question)


# --- answer types: what kind of thing the question asks for --------------------------------------
_NAMED_TIME = ("monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|"
               "april|may|june|july|august|september|october|november|december|today|tomorrow|"
               "yesterday|easter|christmas|tonight|immediately|at once|right away")
_VAGUE_TIME = "week|month|year|day|morning|evening|night|soon|early|later|recently|now"
_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                 "forty|fifty|hundreds?|thousands?|millions?|billions?|dozens?")
_TYPE_PATTERNS = {  # (strong, weak)
    "time": (re.compile(rf"\b(?:{_NAMED_TIME})\b|\b(?:1[89]|20)\d\d\b", re.IGNORECASE),
             re.compile(rf"\b(?:{_VAGUE_TIME})s?\b", re.IGNORECASE)),
    "place": (re.compile(r"\b(?:in|at|on|near|outside|inside)\s+(?:the\s+)?(?:[a-z]+\s+of\s+)?"
                         r"([A-Z][\w’'.-]*)"),  # "in Istanbul", "at the lock of Iron Gate"
              re.compile(r"\b(?:to|from|via|through|near)\s+(?:the\s+)?([A-Z][\w’'.-]*)")),
    "year": (re.compile(r"\b(?:1[89]|20)\d\d\b"),
             re.compile(rf"\b(?:{_NAMED_TIME})\b", re.IGNORECASE)),
    "date": (re.compile(r"\b(?:january|february|march|april|may|june|july|august|september|"
                        r"october|november|december)\b|\b\d{1,2}(?:st|nd|rd|th)\b|\b\d{1,2}[/.]\d{1,2}\b",
                        re.IGNORECASE),
             re.compile(rf"\b(?:{_NAMED_TIME})\b", re.IGNORECASE)),
    "duration": (re.compile(rf"(?:\d+|\b(?:{_NUMBER_WORDS}))[\s-]*(?:days?|weeks?|months?|years?|"
                            r"hours?|minutes?)\b", re.IGNORECASE),
                 re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE)),
    "place_name": (re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w’'.-]+)"),
                   re.compile(r"\b(?:in|at|on|to|from)\s+(?:the\s+)?([A-Z][\w’'.-]*)")),
    "number": (re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE),
               re.compile(r"\b(?:several|many|few|some)\b", re.IGNORECASE)),
    "person": (re.compile(r"\b[A-Z][a-z]+\s+[A-Z][\w’'-]+"),
               re.compile(r"\b(?:[A-Z][a-z]{2,})\b")),
    "reason": (re.compile(r"\b(?:because|due to|since|as a result|in order to|so that|aimed at)\b",
                          re.IGNORECASE),
               re.compile(r"\b(?:for|over|amid|raising|after)\b", re.IGNORECASE)),
}
_NAME_REQUEST = re.compile(
    r"\b(?:names?|by name|(?:which|what) specific|specifically)\b"
    r"|^(?:\w+\s+)?who\s+(?:is|are|was|were)\s+the\s+\w+",  # "Who were the mediators Putin thanked?"
    re.IGNORECASE)
_FULL_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w’'.-]+(?:\s+[A-Z][\w’'.-]+)+)")


def answer_type(question: str) -> str | None:
    """The kind of thing asked for: number, duration, year, date, time, place, place_name,
    person, reason, or None."""
    q = question.lower()
    if re.search(r"\bhow long\b|\bfor how many (?:days|weeks|months|years|hours)\b", q):
        return "duration"
    if re.search(r"\bhow (?:many|much|often|old)\b|\bwhat (?:number|percentage|amount)", q):
        return "number"
    q = q.replace("when it comes to", "about")
    if re.search(r"\b(?:what|which) year\b", q):
        return "year"
    if re.search(r"\b(?:what|which)\b(?:\s+\w+){0,2}?\s+date\b|\bday and month\b", q):
        return "date"
    if re.search(r"\bwhen\b|\b(?:what|which)\b(?:\s+\w+){0,3}?\s+(?:day|time|month)\b"
                 r"|\bhow soon\b", q):
        return "time"
    if re.search(r"\bwhere\b", q):
        return "place"
    if re.search(r"\b(?:which|what)\s+(?:\w+\s+)?(?:city|town|village|country|place|location|"
                 r"venue|building|hotel|region|capital)\b", q):
        return "place_name"
    if re.search(r"^(?:\w+\s+)?(?:who|whom)\b|\bwhich (?:leader|official|president|person)", q):
        return "person"
    if re.search(r"\bwhy\b|\bwhat (?:reason|caused|motivated)\b", q):
        return "reason"
    return None


def has_type(sentence: str, kind: str | None, strong: bool = True, question: str = "") -> bool:
    """`sentence` holds a thing of `kind` that `question` does not already say ("What time on
    Thursday?" is not answered by "as early as Thursday", "Which venue in Istanbul?" not by "in
    Istanbul")."""
    if kind is None:
        return False
    q = fold(question)
    return any(fold(m.group(m.lastindex or 0)).rstrip(".") not in q
               for m in _TYPE_PATTERNS[kind][0 if strong else 1].finditer(sentence))


_AUXILIARY = r"(?:did|does|do|has|have|had|will|would|is|was|could|can|should|might)"
_ACTOR = re.compile(rf"\b(?i:{_AUXILIARY})\s+(?:the\s+)?((?:[A-Z][\w’'.-]*\s+)*[A-Z][\w’'.-]*)")
_WHICH_KINDS = re.compile(  # "which countries", not "which of the demands" (pick one of them)
    r"\b(?i:which)\s+(?!of\b)((?:[\w.’'-]+\s+){0,3}?[a-z]{3,}[^su\W]s)\b")


_SPEECH = re.compile(r"\b(?:say|said|reply|replied|respond|responded|react|reacted|answer|answered|"
                     r"comment|commented|think|thought|claim|claimed|state|stated|announce|"
                     r"announced|view|views|make of|feel|felt)\b", re.IGNORECASE)


def asks_what_actor_said(question: str) -> bool:
    """"What did Erdoğan say in reply?": only a sentence whose speaker is Erdoğan answers it."""
    return bool(question_actor(question)) and bool(_SPEECH.search(question))


def question_actor(question: str) -> str:
    """The named subject of the question: "Erdoğan" in "What did Erdoğan say in reply?"."""
    m = _ACTOR.search(question)
    return m.group(1) if m else ""


def actor_agreement(actor: str, resolved_sentence: str,
                    similarity: Callable[[str, str], float] | None = None) -> int:
    """+1 when the sentence's subject names the question's actor; -1 when its subject is someone
    else and the actor is not in the sentence at all, nor a near name of its subject by the model's
    word similarity ("Moscow" ~ "Russian officials"); 0 otherwise (either has no name, or the actor
    is in the sentence in another role: "..., which Putin dismissed as ultimatums")."""
    who = fold(subject(resolved_sentence))
    if not actor or not who:
        return 0
    parts = [fold(w)[:6] for w in actor.split() if len(w) >= 3]
    if any(p in who for p in parts):
        return 1
    if any(_AGENT.search(m) for p in parts for m in _mentions(fold(resolved_sentence), p)):
        return 0  # the actor does something in the sentence: "..., which Putin dismissed"
    if similarity is not None and max(
            (similarity(a, b) for a in actor.split() for b in subject(resolved_sentence).split()),
            default=0.0) >= METONYM_SIMILARITY:
        return 0
    return -1


# What follows a name that acts: a verb in the past or present ("Putin dismissed", "he says"),
# after an optional adverb; not "with Erdoğan to help", "Erdoğan's".
_AGENT = re.compile(r"^\w*\s+(?:(?:now|also|then|later|quickly|\w+ly)\s+)?"
                    r"(?:\w+ed|\w+[^s]s|said|says|told|spoke|sees|saw|made|gave|took|thought|"
                    r"will|would|has|had|is|was)\b")


def _mentions(text: str, part: str) -> list[str]:
    """The text from each occurrence of `part` on."""
    return [text[m.start():] for m in re.finditer(re.escape(part), text)]


def which_focus(question: str) -> str:
    """The kind of thing a "which ...s" question asks to be named ("European leaders"), or ""."""
    m = _WHICH_KINDS.search(question)
    return m.group(1) if m else ""


def asks_for_names(question: str) -> bool:
    """"Name the ...", "which specific ...", "which countries ...": only names answer it."""
    return bool(_NAME_REQUEST.search(question) or which_focus(question)) and not re.search(
        r"\bhow (?:many|much)\b", question, re.IGNORECASE)


def new_names(sentence: str, question: str) -> list[str]:
    """Multi-word proper names (Recep Tayyip Erdoğan, Security Council) of `sentence` that the
    question does not already contain."""
    q = fold(question)
    acronyms = {w for w in _WORD.findall(question) if w.isupper() and len(w) > 1}
    found = [re.sub(r"(?<=[a-z])\.$", "", m) for m in _FULL_NAME.findall(sentence)]  # "Union."
    return [m for m in found
            if not all(fold(part) in q for part in m.split())
            and "".join(w[0] for w in m.split() if w[0].isupper()) not in acronyms]  # EU


_DEMONYM_ENDING = re.compile(r"(?:ey|ish|ians?|ans?|ese|ia|[aeiy])$")


def missing_names(question: str, passages: Sequence[Passage]) -> tuple[str, ...]:
    """Capitalised words (not the first word) and numbers of the question that appear nowhere in
    the retrieved passages: the question is about something the sources do not cover."""
    found = _WORD.findall(question)
    haystack = fold(" ".join(p.text for p in passages))
    missing = []
    for i, w in enumerate(found):
        w = re.sub(r"[’']s$", "", w).strip("’'")  # Putin's -> Putin
        if not w or w.lower() in QUESTION_WORDS or re.match(r"(?i)i(?:[’'].*)?$", w):  # I, I'd
            continue
        is_name = i > 0 and w[0].isupper() and not w.isupper() or (w.isupper() and len(w) > 1)
        if not (is_name or any(ch.isdigit() for ch in w)):
            continue
        needle = _DEMONYM_ENDING.sub("", fold(w)) if len(w) > 5 else fold(w)  # Turkey ~ Turkish
        if len(needle) > 6:
            needle = needle[: max(6, len(needle) - 3)]  # Zelensky ~ Zelenskyy
        if needle not in haystack:
            missing.append(w)
    return tuple(missing)


def words(text: str) -> list[str]:
    return [re.sub(r"[’']s$", "", w).strip("’'") for w in _WORD.findall(fold(text))]


def fold(text: str) -> str:
    """Lowercase, accents removed (Erdoğan ~ Erdogan)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))

"""Does a span of a source say what a model's sentence claims? The lexical rule, pure.

A sentence is read once into a `Claim`: its content words, stemmed and accent-folded, with weights
(names and numbers count double); which of them are names and numbers (dates and quantities are
both: "Thursday", "30-day", "four regions"); which are new, i.e. not already in the question: the
sentence's answer to it. A span supports the claim when (`Verdict.supports`):

1. every name, number, date and quantity of the claim is in the span (`complete`); a country also
   counts under its people, capital or seat of power ("Kremlin" for Russia, `qa.offline.aliases`);
2. at least NEW_MIN of its new words are in the span: the fact the sentence adds, not only the words
   it shares with the question ("Putin proposed a prisoner exchange" is not supported by "Putin
   proposed talks"); a sentence that adds nothing, only restating the question ("The construction
   company will build the tram line" for "Which construction company will build the tram line?"),
   answers nothing and is supported by no span;
3. at least SUPPORT of all its weighted words are in the span, and at least PLAIN_MIN of its ordinary
   (not name, not number) words: names alone do not make support.

Overlap is not entailment: the rule is strict about what a span must contain, not a proof that it
says it (a negation it misses, for one). A similarity function or an `EntailmentJudge` (a model that
reads sentence and span together) may stand in for 2 and 3; nothing stands in for 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from qa.offline.aliases import aliases, mentioned
from qa.offline.text import fold

__all__ = [
    "NEW_MIN",
    "PLAIN_MIN",
    "SUPPORT",
    "Claim",
    "EntailmentJudge",
    "EntailmentPair",
    "Name",
    "Verdict",
    "lowercase_words",
    "read_claim",
    "terms",
    "verdict",
]

SUPPORT = 0.5  # share of the claim's weighted words a supporting span holds
PLAIN_MIN = 0.3  # ...and at least this share of its ordinary words
NEW_MIN = 0.5  # ...and at least this share of the words it adds to the question

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_DIGIT = re.compile(r"\d")
_NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
    "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70",
    "eighty": "80", "ninety": "90", "hundred": "100", "hundreds": "100", "thousand": "1000",
    "thousands": "1000", "million": "1000000", "millions": "1000000", "billion": "1000000000",
    "billions": "1000000000", "dozen": "12", "dozens": "12", "twice": "2", "double": "2",
    "triple": "3", "half": "0.5",
}  # "one" is left out: "one of", "no one", "the one" say no quantity
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
# Capitalised only because they open the sentence: not names.
_OPENERS = frozenset(
    """additionally moreover furthermore meanwhile overall finally first firstly second secondly
    third thirdly lastly next instead still thus therefore hence consequently besides notably
    specifically similarly likewise conversely nevertheless nonetheless regardless despite in
    according based following given earlier later previously currently today yesterday tomorrow
    recently separately alternatively indeed importantly essentially basically ultimately again
    yes sure well here there this that these those former latter current many several some most
    both each either neither another other such one two""".split()
)


class EntailmentJudge(Protocol):
    """A model that reads a sentence and a source span together and says how likely the span
    states the sentence, and how likely a sentence states the answer to the question (the reader
    model of `qa.offline.judge` is one; no model call is made here). Given to
    `cite_model_answer`, it decides rules 2 and 3; rule 1 (names and numbers) still applies to
    every span it is shown."""

    name: str

    def entailment(self, question: str, pairs: Sequence[EntailmentPair]) -> list[float]:
        """P(the span states the sentence), for each pair, in order."""
        ...

    def answers(self, question: str, sentences: Sequence[str]) -> list[float]:
        """P(the sentence states the answer to the question), for each sentence, in order."""
        ...


@dataclass(frozen=True)
class EntailmentPair:
    """What an `EntailmentJudge` reads: one sentence of the answer and one span of a source."""

    sentence: str
    span: str


@dataclass(frozen=True)
class Name:
    """A name, number, date or quantity of a claim: it must be in any span that supports it."""

    surface: str  # as the claim writes it: "Kremlin", "White House", "30"
    terms: frozenset[str]  # its stemmed words
    number: bool


@dataclass(frozen=True)
class Claim:
    """A model's sentence, read once for checking against any number of spans."""

    text: str
    weights: dict[str, float]  # stemmed content word -> weight (names and numbers 2.0)
    names: tuple[Name, ...]
    new: frozenset[str]  # the words it adds to the question

    @property
    def empty(self) -> bool:
        return not self.weights


@dataclass(frozen=True)
class Verdict:
    """How one span (or several, joined) stands to a claim."""

    score: float  # weighted share of the claim's words in the span, 0..1 (PLAIN_MIN applied)
    complete: bool  # every name and number of the claim is in the span
    new_share: float  # share of the claim's new words in the span (0.0 when it adds none: a
                      # sentence that only restates the question answers nothing)
    hit: frozenset[str]  # the claim's words the span holds
    missing: tuple[str, ...]  # the names and numbers it lacks, as the claim writes them

    @property
    def supports(self) -> bool:
        return self.complete and self.new_share >= NEW_MIN and self.score >= SUPPORT


def read_claim(text: str, question: str = "", common: frozenset[str] = frozenset()) -> Claim:
    """The claim `text` makes, with what it adds to `question` (all of it when no question).

    `common`: words known as ordinary words (`lowercase_words` of the passages): the sentence's
    first word is not a name when it is one of them ("Talks could resume" vs "Macron said")."""
    words = list(_WORD.finditer(text))
    common = common | lowercase_words(text) | lowercase_words(question)
    weights: dict[str, float] = {}
    names: list[Name] = []
    run: list[str] = []  # consecutive capitalised words: "White House" may be one alias

    def close_run() -> None:
        if not run:
            return
        surface = " ".join(run)
        if len(run) > 1 and aliases(surface):
            names.append(Name(surface, frozenset(t for w in run for t in _word_terms(w)), False))
        else:
            names.extend(Name(w, frozenset(_word_terms(w)), False) for w in run
                         if _word_terms(w))
        run.clear()

    for i, match in enumerate(words):
        word = match.group(0)
        is_name = _is_name(word, first=i == 0) and not (i == 0 and fold(word) in common)
        adjacent = i > 0 and text[words[i - 1].end() : match.start()].strip() in ("", ".")
        if not (is_name and adjacent):
            close_run()
        for part in _parts(word):
            term = _term(part)
            if term is None:
                continue
            number = bool(_DIGIT.search(term))
            weight = 2.0 if number or is_name else 1.0
            weights[term] = max(weights.get(term, 0.0), weight)
            if number:
                names.append(Name(part, frozenset([term]), True))
        if is_name:
            run.append(word)
    close_run()
    asked = terms(question)
    new = frozenset(t for t in weights if not _has(t, asked) and not _aliased(t, names, question))
    return Claim(text, weights, tuple(dict.fromkeys(names)), new)


def verdict(claim: Claim, span: str) -> Verdict:
    """How `span` stands to `claim`; see the module doc."""
    have = terms(span)
    hit = {t for t in claim.weights if _has(t, have)}
    missing: list[str] = []
    for name in claim.names:
        if name.terms <= hit:
            continue
        if not name.number and _mentioned(name.surface, span):  # "Kremlin" for Russia
            hit |= name.terms
        else:
            missing.append(name.surface)
    total = sum(claim.weights.values())
    score = sum(claim.weights[t] for t in hit) / total if total else 0.0
    plain = [t for t, w in claim.weights.items() if w == 1.0]
    if plain:
        plain_share = sum(1 for t in plain if t in hit) / len(plain)
        if plain_share < PLAIN_MIN:
            score = min(score, plain_share)
    new_total = sum(claim.weights[t] for t in claim.new)
    new_share = sum(claim.weights[t] for t in claim.new & hit) / new_total if new_total else 0.0
    return Verdict(score, not missing, new_share, frozenset(hit), tuple(missing))


def lowercase_words(text: str) -> frozenset[str]:
    """The words `text` writes in lowercase (folded): ordinary words, not names."""
    return frozenset(fold(w) for w in re.findall(r"\b[a-z][\w’']*", text))


def terms(text: str) -> frozenset[str]:
    """The stemmed, folded content words of `text` (number words as digits: "four" -> "4")."""
    return _terms_cached(text)


@lru_cache(maxsize=4096)
def _terms_cached(text: str) -> frozenset[str]:
    out = set()
    for match in _WORD.finditer(text):
        for part in _parts(match.group(0)):
            term = _term(part)
            if term is not None:
                out.add(term)
    return frozenset(out)


@lru_cache(maxsize=16384)
def _term(part: str) -> str | None:
    lower = fold(part)
    if lower in _STOPWORDS or (len(lower) < 2 and not lower.isdigit()):
        return None
    if lower in _NUMBER_WORDS:
        return _NUMBER_WORDS[lower]
    return _stem(lower)


def _is_name(word: str, *, first: bool) -> bool:
    if not word[:1].isupper() or _DIGIT.search(word):
        return False
    lower = fold(word.replace("’", "'").removesuffix("'s"))
    if lower in _STOPWORDS or lower in _NUMBER_WORDS or len(lower) < 2:
        return False
    if first:  # capitalised because it opens the sentence, unless it is written like a name
        return word.isupper() or not (lower in _OPENERS or lower.endswith("ly"))
    return True


def _has(term: str, have: frozenset[str] | set[str]) -> bool:
    if term in have:
        return True
    # stems that share five letters: europ/european, ukrain/ukrainian (never numbers)
    return (len(term) >= 5 and not _DIGIT.search(term)
            and any(len(h) >= 5 and h[:5] == term[:5] for h in have))


def _aliased(term: str, names: list[Name], question: str) -> bool:
    """Whether the question names what `term` names, by another form ("Russia" / "the Kremlin")."""
    return bool(question) and any(term in n.terms and not n.number
                                  and _mentioned(n.surface, question) for n in names)


@lru_cache(maxsize=4096)
def _mentioned(name: str, text: str) -> bool:
    """`qa.offline.aliases.mentioned`, remembered: a claim is checked against the same spans often."""
    return bool(aliases(name)) and mentioned(name, text)


def _word_terms(word: str) -> list[str]:
    return [t for p in _parts(word) if (t := _term(p)) is not None]


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

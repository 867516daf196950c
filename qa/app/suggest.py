"""The chat's first screen: each indexed document by a readable title, and a few questions drawn
from the documents themselves that the answerer really answers with a citation.

Titles: a document's first line when it is a title (a line of its own that does not end like a
sentence, `qa.sources.spans.is_heading`), else its first heading; none when it has neither (the
chat then shows the file name alone).

Questions: candidates are made from the opening sentences of the paragraphs, by a few patterns
that hold in most prose: "<Subject> has proposed ..." -> "What has <Subject> proposed?",
"<Subject> praised the plan ..." -> "Who praised the plan?" and "What did <Subject> praise?",
"... on Thursday" -> "When did <Subject> vote?", "<Subject> is a ..." -> "What is <Subject>?".
Each candidate goes through the real answerer; only those it answers with a citation are kept.
Results are cached per index state (which files, at which sha256, and the backend), in memory
and in `suggestions.json` of the index folder, so the first screen is fast after a restart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from qa.errors import QAError
from qa.sources.spans import Span, is_heading, sentence_spans
from qa.types import Answer

log = logging.getLogger(__name__)

MAX_SUGGESTIONS = 4
MAX_TRIES = 16  # candidates put to the answerer per index state, at most
YIELD_SECONDS = 30.0  # longest a suggestion check waits for people's questions to be answered
YIELD_POLL = 0.05
CACHE_FILE = "suggestions.json"
_TITLE_CHARS = 90
_READ_CHARS = 20_000  # of each document: titles and lead sentences are near the top
_LEAD_PARAGRAPHS = 8


class SuggestEngine(Protocol):
    """What the first screen needs from `qa.api.Engine`."""

    @property
    def settings(self) -> Any: ...
    def documents(self) -> list[Any]: ...
    def source_text(self, source: str) -> str: ...
    def answer(self, question: str, history: Sequence[str] | None = None) -> Answer: ...
    def busy(self) -> bool: ...


@dataclass(frozen=True)
class DocumentTitle:
    source: str  # the file, relative to seeds/
    title: str  # its title line or first heading; "" when it has none

    @property
    def label(self) -> str:
        """"Title · file.txt", or the file name alone."""
        name = self.source.rsplit("/", 1)[-1]
        return f"{self.title} · {name}" if self.title else name


@dataclass(frozen=True)
class Suggestion:
    question: str
    source: str  # the document it was drawn from (its answer may cite another)


@dataclass(frozen=True)
class FirstScreen:
    documents: tuple[DocumentTitle, ...]
    suggestions: tuple[Suggestion, ...]


# --- titles -----------------------------------------------------------------------------------------


def document_title(text: str) -> str:
    """The first line if it is a title, else the first heading, else ""; Markdown `#` marks and
    surrounding space removed, cut to about 90 characters."""
    for span in _lines(text[:_READ_CHARS]):
        if not is_heading(text, span):
            continue
        title = re.sub(r"^#{1,6}\s+|\s+#+$", "", text[span.start:span.end]).strip(" *_=-")
        if len(re.findall(r"[^\W\d_]{2,}", title)) >= 1 and not re.match(r"^[-*•]\s", title):
            return title if len(title) <= _TITLE_CHARS else \
                title[:_TITLE_CHARS].rsplit(" ", 1)[0] + "…"
    return ""


def _lines(text: str) -> Iterator[Span]:
    for m in re.finditer(r"[^\n]+", text):
        a, b = m.start(), m.end()
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            yield Span(a, b)


# --- candidate questions --------------------------------------------------------------------------

_DATELINE = re.compile(r"^[A-Z][A-Z .'-]+,[^—–]{0,40}[—–]\s*")  # "LINDGATE, March 14 — "


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_OPENERS = _words(
    "he she they it we i you this that these those there here however meanwhile but and or so "
    "in on at after before during since while when if as although though last earlier later "
    "according despite under over for with by from to of also still yet then now today among "
    "his her their its our my your")
_NOT_IN_SUBJECT = _OPENERS | _words("said says told added noted stated already")
_PERFECT = frozenset({"has", "have", "had"})
_COPULA = frozenset({"is", "are", "was", "were"})
_ARTICLES = frozenset({"a", "an", "the"})
_NOT_OBJECTS = _words(
    "to on in at by for with from of about into over after before during as that than up down "
    "out off and or but while because since")
_TIME = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|"
    r"april|may|june|july|august|september|october|november|december|yesterday|(?:19|20)\d\d)\b",
    re.IGNORECASE)
_CUT = re.compile(r",|;|:|\s[—–-]\s|\s(?:to be|which|who|while|after|because|as|but|and|"
                  r"according|before|since|until|when|where|that)\s")
_VOWELS = "aeiou"


def candidate_questions(text: str, vocabulary: frozenset[str] = frozenset()) -> list[str]:
    """Questions a reader might ask of `text`, from the opening sentences of its first
    paragraphs, in document order. `vocabulary`: lowercase words of all the documents, to turn
    "praised" into "praise" only when that word exists (else a spelling rule decides)."""
    out: list[str] = []
    for sentence in _lead_sentences(text[:_READ_CHARS]):
        for q in _questions(sentence, vocabulary):
            if q not in out:
                out.append(q)
    return out


def _lead_sentences(text: str) -> Iterator[str]:
    """The first two sentences of each of the first paragraphs (headings skipped)."""
    paragraphs = 0
    for block in re.finditer(r"[^\n]+", text):
        spans = [s for s in sentence_spans(text, block.start(), block.end())
                 if not is_heading(text, s)]
        if not spans:
            continue
        paragraphs += 1
        for s in spans[:2]:
            yield text[s.start:s.end]
        if paragraphs >= _LEAD_PARAGRAPHS:
            return


def _questions(sentence: str, vocabulary: frozenset[str]) -> list[str]:
    sentence = _DATELINE.sub("", sentence).strip()
    words = sentence.rstrip(".!?…\"”’").split()
    verb = next((i for i, w in enumerate(words[:9])
                 if i > 0 and (w in _PERFECT or w in _COPULA or _past(w))), None)
    if verb is None:
        return []
    subject_words = words[:verb]
    if not _is_subject(subject_words):
        return []
    first = subject_words[0]
    if first.lower() in vocabulary and not first[1:].isupper():  # "Fighting", "The": not names
        first = first.lower()
    subject = " ".join([first, *subject_words[1:]])
    v, rest = words[verb], words[verb + 1:]
    out = []
    if v in _PERFECT and rest and _past(rest[0]):
        tail = " to do" if rest[1:2] == ["to"] else ""
        out.append(f"What {v} {subject} {rest[0]}{tail}?")
    elif v in _COPULA and rest and rest[0].lower() in _ARTICLES and len(subject_words) <= 5 \
            and _named(subject_words):  # "What is the recall?" asks nothing in particular
        out.append(f"What {v} {subject}?")
    elif _past(v):
        base = _base(v, vocabulary)
        obj = _object(rest)
        if obj and _named(subject_words):
            out.append(f"Who {v} {obj}?")
        if base and rest and rest[0] == "to":
            out.append(f"What did {subject} {base} to do?")
        elif base and obj:
            out.append(f"What did {subject} {base}?")
        if base and _TIME.search(sentence):
            out.append(f"When did {subject} {base}?")
    return out


def _is_subject(words: list[str]) -> bool:
    """A short noun phrase that starts the sentence: no comma, no pronoun or adverb first, a
    capital somewhere (a name, or the sentence's own capital)."""
    if not 1 <= len(words) <= 7 or any(re.search(r"[,;:()\"“”]", w) for w in words):
        return False
    return words[0][:1].isupper() and not any(
        w.lower().strip("'’") in _NOT_IN_SUBJECT | _PERFECT | _COPULA or w.endswith("ly")
        for w in words)


def _named(words: list[str]) -> bool:
    """The subject names someone or something: a capitalised word past the first."""
    return any(w[:1].isupper() for w in words[1:]) or (
        len(words) == 1 and words[0].lower() not in _OPENERS)


def _past(word: str) -> bool:
    return len(word) > 4 and word.endswith("ed") and word.isalpha() and word.islower()


def _object(rest: list[str]) -> str:
    """The verb's object: the words up to the first clause break, at most 9, without a trailing
    preposition; "" when the verb is followed by a preposition or a number."""
    if not rest or rest[0].lower() in _NOT_OBJECTS or not rest[0][:1].isalpha():
        return ""
    text = " ".join(rest)
    m = _CUT.search(text)
    while m and len(text[:m.start()].split()) < 2 and m.group(0) == ",":
        m = _CUT.search(text, m.end())  # "direct, unconditional peace talks": go on
    words = (text[:m.start()] if m else text).split()[:9]
    while words and (words[-1].lower() in _NOT_OBJECTS | _ARTICLES):
        words.pop()
    return " ".join(words).rstrip(".,;:")


def _base(past: str, vocabulary: frozenset[str]) -> str:
    """"praised" -> "praise", "insisted" -> "insist", "stopped" -> "stop", "carried" -> "carry":
    the form found among the documents' words, or one that spelling alone settles; "" when
    unsure ("visited" or "invited": visit, invite?), and then no question needs it."""
    if past.endswith("ied"):
        return past[:-3] + "y"
    if past.endswith("eed"):
        return past[:-1]
    stem = past[:-2]
    options = [stem + "e", stem]
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        options.insert(0, stem[:-1])
    for option in options:
        if option in vocabulary:
            return option
    if len(options) == 3:
        return options[0]
    if stem[-1] in "vcuz" or stem.endswith(("rg", "dg")):
        return stem + "e"
    if len(stem) > 2 and stem[-1] not in _VOWELS and stem[-2] not in _VOWELS + "r" \
            and stem[-1] != "s":
        return stem  # insist, demand, attack: two consonants, no e
    return ""


def vocabulary_of(texts: Sequence[str]) -> frozenset[str]:
    """The words the documents write in lower case (so "Putin" is not among them)."""
    return frozenset(w for t in texts for w in re.findall(r"\b[a-z]+\b", t[:_READ_CHARS]))


# --- the first screen, checked and cached -----------------------------------------------------------


class Suggester:
    """The first screen of one engine, worked out once per index state (thread-safe)."""

    def __init__(self, engine: SuggestEngine, limit: int = MAX_SUGGESTIONS,
                 tries: int = MAX_TRIES) -> None:
        self.engine = engine
        self.limit = limit
        self.tries = tries
        self._lock = threading.Lock()
        self._cache: dict[str, FirstScreen] = {}

    def first_screen(self) -> FirstScreen:
        """The documents by title and the checked suggestions; the cached ones if the indexed
        files have not changed since."""
        docs = sorted((d.source, d.sha256) for d in self.engine.documents())
        key = hashlib.sha256(json.dumps(
            [docs, str(getattr(self.engine.settings, "backend", ""))]).encode()).hexdigest()[:16]
        with self._lock:
            if key not in self._cache:
                screen = self._load(key)
                if screen is None:
                    screen = self._work_out([s for s, _ in docs])
                    self._save(key, screen)
                self._cache = {key: screen}
            return self._cache[key]

    def _work_out(self, sources: list[str]) -> FirstScreen:
        texts: dict[str, str] = {}
        for source in sources:
            try:
                texts[source] = self.engine.source_text(source)
            except QAError:  # gone or unreadable since it was indexed: shown by its name
                continue
        titles = tuple(DocumentTitle(s, document_title(texts.get(s, ""))) for s in sources)
        vocabulary = vocabulary_of(list(texts.values()))
        per_doc = [[(q, s) for q in candidate_questions(t, vocabulary)] for s, t in texts.items()]
        found: list[Suggestion] = []
        for question, source in _round_robin(per_doc)[:self.tries]:
            self._after_questions()
            if self._answers(question):
                found.append(Suggestion(question, source))
                if len(found) == self.limit:
                    break
        return FirstScreen(titles, tuple(found))

    def _after_questions(self) -> None:
        """Waits while the engine answers someone's question (at most YIELD_SECONDS, so that a
        busy chat still gets its suggestions): checking them is background work."""
        deadline = time.monotonic() + YIELD_SECONDS
        while self.engine.busy() and time.monotonic() < deadline:
            time.sleep(YIELD_POLL)

    def _answers(self, question: str) -> bool:
        try:
            a = self.engine.answer(question)
        except QAError as exc:
            log.info("suggestion %r not checked: %s", question, exc)
            return False
        return a.supported and bool(a.citations)

    def _cache_path(self) -> Path | None:
        index_dir = getattr(self.engine.settings, "index_dir", None)
        if index_dir is None or getattr(self.engine.settings, "chroma_url", ""):
            return None
        return Path(index_dir) / CACHE_FILE

    def _load(self, key: str) -> FirstScreen | None:
        path = self._cache_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path else None
            if not data or data.get("key") != key:
                return None
            return FirstScreen(tuple(DocumentTitle(**d) for d in data["documents"]),
                               tuple(Suggestion(**s) for s in data["suggestions"]))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def _save(self, key: str, screen: FirstScreen) -> None:
        path = self._cache_path()
        if path is None or not path.parent.is_dir():
            return
        data = {"key": key, "documents": [asdict(d) for d in screen.documents],
                "suggestions": [asdict(s) for s in screen.suggestions]}
        try:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:  # a read-only index folder: the memory cache still serves
            log.info("suggestions not saved to %s: %s", path, exc)


def _round_robin(lists: list[list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """One of each list in turn: every document gets a say before any gets a second."""
    out: list[tuple[str, str]] = []
    for i in range(max((len(x) for x in lists), default=0)):
        out += [x[i] for x in lists if i < len(x)]
    return out

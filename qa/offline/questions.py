"""What a question asks for, and about whom: the reading of questions that the answerer's
features and checks share.

`read_question` reads a question once into a `Question`; the features and the checks read that
value and never re-derive it from the text. The functions it is made of:

- `resolve_question`: a follow-up's "he" is the previous question's named subject;
- `answer_type` / `has_type`: the kind of thing asked for (a year for "what year", a place for
  "where") and whether a sentence holds one the question does not already give;
- `asks_for_names` / `new_names`: "which European leaders" is answered only by names;
- `question_actor` / `actor_agreement`: "what did Erdoğan reply" is answered only where Erdoğan
  speaks;
- `missing_names`: names of the question that the retrieved text never mentions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qa.offline.aliases import mentioned
from qa.offline.resolve import subject
from qa.offline.text import fold
from qa.types import Passage

METONYM_SIMILARITY = 0.6  # word cosine from which two names may stand for each other

WORD = re.compile(r"[\w’']+", re.UNICODE)
QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how did does do done is are was were be been being "
    "according article text source sources document story piece author writer "
    "say said says tell told mention mentioned "
    "mentions report reported describe described give given there any much many kind sort "
    "happen happened would could should will can may might".split()
)


# Singular only: in a follow-up, "they" is more often the talks than people.
_QUESTION_PRONOUN = re.compile(r"\b(he|she|him|her|his)\b", re.IGNORECASE)


def resolve_question(question: str, history: Sequence[str]) -> str:
    """A follow-up with its pronouns replaced by the previous question's named subject:
    "What condition did he set?" after "How did Zelenskyy react?" asks about Zelenskyy."""
    if not history or not _QUESTION_PRONOUN.search(question):
        return question
    before = history[-1]
    name = question_actor(before) or next(
        (m for m in _FULL_NAME.findall(before)), "") or next(
        (w for i, w in enumerate(WORD.findall(before)) if i and w[0].isupper()), "")
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
    # A time of day answers "when" too ("runs every night at 01:30").
    "time": (re.compile(rf"\b(?:{_NAMED_TIME})\b|\b(?:1[89]|20)\d\d\b|\b\d{{1,2}}:\d\d\b"
                        r"|\b\d{1,2}\s*(?:a\.?m\b|p\.?m\b)", re.IGNORECASE),
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
    # A count: not a year ("a 2022 draft deal" says nothing about how many).
    "number": (re.compile(rf"\b(?!(?:1[89]|20)\d\d\b)\d[\d,.]*|\b(?:{_NUMBER_WORDS})\b",
                          re.IGNORECASE),
               re.compile(r"\b(?:several|many|few|some)\b", re.IGNORECASE)),
    "person": (re.compile(r"\b[A-Z][a-z]+\s+[A-Z][\w’'-]+"),
               re.compile(r"\b(?:[A-Z][a-z]{2,})\b")),
    # The marker with the words after it: "for ending those negotiations" gives no reason for "Why
    # did Kyiv end the negotiations?" (see has_type).
    "reason": (re.compile(r"\b(?:because|due to|since|as a result|in order to|so that|aimed at)"
                          r"((?:\W+[\w’']+){1,3})", re.IGNORECASE),
               re.compile(r"\b(?:for|over|amid|raising|after)((?:\W+[\w’']+){1,3})",
                          re.IGNORECASE)),
    "clock": (re.compile(r"\b\d{1,2}(?::\d\d)?\s*(?:a\.?m\b|p\.?m\b|o[’']clock|h\b)|\b\d{1,2}:\d\d\b"
                         r"|\b(?:noon|midday|midnight)\b", re.IGNORECASE),
              re.compile(r"\b(?:morning|afternoon|evening|night|dawn|dusk)\b", re.IGNORECASE)),
}
_NAME_REQUEST = re.compile(
    r"\b(?:names?|by name|(?:which|what) specific|specifically)\b"
    r"|^(?:\w+\s+)?who\s+(?:is|are|was|were)\s+the\s+\w+",  # "Who were the mediators thanked?"
    re.IGNORECASE)
_FULL_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w’'.-]+(?:\s+[A-Z][\w’'.-]+)+)")


def answer_type(question: str) -> str | None:
    """The kind of thing asked for: number, duration, year, date, clock (a time of day), time,
    place, place_name, person, reason, or None."""
    q = question.lower()
    if re.search(r"\bhow long\b|\bfor how many (?:days|weeks|months|years|hours)\b", q):
        return "duration"
    if re.search(r"\bhow (?:many|much|often|old)\b|\bwhat (?:number|percentage|amount)", q):
        return "number"
    q = q.replace("when it comes to", "about")
    if re.search(r"\b(?:what|which) year\b", q):
        return "year"
    if re.search(r"\b(?:what|which)\b(?:\s+\w+){0,3}?\s+date\b|\bday and month\b", q):
        return "date"
    if re.search(r"\b(?:at\s+)?what time\b(?!\s+(?:frame|scale|period|line))|\bwhat hour\b", q):
        return "clock"
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
    pattern = _TYPE_PATTERNS[kind][0 if strong else 1]
    if kind == "reason":  # a reason that is not just the question's own words again
        said = [w for w in words(question) if len(w) >= 3]
        return any(any(len(w) > 3 and w not in _FILLER
                       and not any(w.startswith(x) or x.startswith(w[:5]) for x in said)
                       for w in words(m.group(1)))
                   for m in pattern.finditer(sentence))
    return any(fold(m.group(m.lastindex or 0)).rstrip(".") not in q
               for m in pattern.finditer(sentence))


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


# Kinds of thing that "which ...s" asks to have named: people, places, bodies. "Which weapons",
# "which demands", "which occasions" are answered by a description as well as by a name.
_NAMED_KINDS = frozenset(
    "leaders officials members ministers mediators diplomats politicians presidents judges players "
    "people persons victims suspects attackers companies firms businesses airlines carriers banks "
    "clubs teams parties groups organisations organizations agencies governments countries nations "
    "states allies cities towns villages regions provinces districts neighbourhoods neighborhoods "
    "sites destinations hospitals schools universities newspapers outlets".split())


def asks_for_names(question: str) -> bool:
    """"Name the ...", "which specific ...", "which countries ...": only names answer it."""
    focus = which_focus(question)
    named_kind = bool(focus) and focus.split()[-1].lower() in _NAMED_KINDS
    return bool(_NAME_REQUEST.search(question) or named_kind) and not re.search(
        r"\bhow (?:many|much)\b", question, re.IGNORECASE)


def new_names(sentence: str, question: str) -> list[str]:
    """Multi-word proper names (Recep Tayyip Erdoğan, Security Council) of `sentence` that the
    question does not already contain."""
    q = fold(question)
    acronyms = {w for w in WORD.findall(question) if w.isupper() and len(w) > 1}
    found = [re.sub(r"(?<=[a-z])\.$", "", m) for m in _FULL_NAME.findall(sentence)]  # "Union."
    return [m for m in found
            if not all(fold(part) in q for part in m.split())
            and "".join(w[0] for w in m.split() if w[0].isupper()) not in acronyms]  # EU


# "What are the root causes of the war?", "What does Putin consider the root causes to be?": the
# question asks what a thing it names is, so a sentence that names the thing last ("... should
# focus on the root causes of the war.") mentions it without saying what it is.
_CONTENT_OF = re.compile(
    r"\bwhat\s+(?:exactly\s+)?(?:is|are|was|were)\s+(?:exactly\s+)?"
    r"(?P<x>(?:the|a|an)\s+[^?,]+?)(?:\s+(?:that|which|who|mentioned|according)\b[^?]*)?\s*\??$"
    r"|\bwhat\s+(?:do|does|did)\s+[\w’']+(?:\s+[\w’']+)?\s+(?:consider|think|believe|regard)\s+"
    r"(?P<y>(?:the|a|an)\s+[^?]+?)\s+(?:to be|is|are|was|were)\s*\??$", re.IGNORECASE)
_FILLER = frozenset("the a an of in on for to and those these this that their its with from into "
                    "about".split())


def content_asked(question: str) -> str:
    """The thing whose content the question asks for ("the root causes of the war"), or ""."""
    m = _CONTENT_OF.search(question.strip())
    return (m.group("x") or m.group("y")) if m else ""


def says_what_it_is(sentence: str, thing: str) -> bool:
    """False when `sentence` holds every word of `thing` with nothing else among or after them
    ("... should focus on the root causes of the war."): it names the thing without saying what
    it is. True otherwise: it may say it ("set the maximum draught at 2.5 metres for the
    autumn"), or be about something else."""
    wanted = [w[:5] for w in words(thing) if w not in _FILLER]
    said = words(sentence)

    def is_wanted(w: str) -> bool:
        return any(w.startswith(p) or (p.startswith(w[:5]) and len(w) >= 4) for p in wanted)

    found = [next((i for i, w in enumerate(said) if is_wanted(w) and w.startswith(p[:4])), None)
             for p in wanted]
    if len(wanted) < 2 or None in found:
        return True
    first = min(i for i in found if i is not None)
    return any(w not in _FILLER and not is_wanted(w) for w in said[first:])


_DEMONYM_ENDING = re.compile(r"(?:ey|ish|ians?|ans?|ese|ia|[aeiy])$")


def missing_names(question: str, passages: Sequence[Passage]) -> tuple[str, ...]:
    """Capitalised words (not the first word) and numbers of the question that appear nowhere in
    the retrieved passages: the question is about something the sources do not cover."""
    found = WORD.findall(question)
    text = " ".join(p.text for p in passages)
    haystack = fold(text)
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
        if needle not in haystack and not mentioned(w, text):  # American ~ U.S.
            missing.append(w)
    return tuple(missing)


def words(text: str) -> list[str]:
    return [re.sub(r"[’']s$", "", w).strip("’'") for w in WORD.findall(fold(text))]


# --- the question, read once ---------------------------------------------------------------------
_YES_NO = re.compile(r"^(?:is|are|was|were|did|does|do|has|have|had|will|would|can|could|should)\b",
                     re.IGNORECASE)
_ASKS_HEADING = re.compile(r"\b(?:head(?:line|ing)s?|sub-?head(?:line|ing)s?|titles?)\b",
                           re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    """A question as the offline answerer reads it, worked out once per question."""

    text: str  # as asked
    history: tuple[str, ...]  # the earlier questions of the conversation, oldest first
    asked: str  # with follow-up pronouns resolved ("did he" -> "did Zelenskyy")
    kind: str | None  # the kind of thing asked for (`answer_type`)
    actor: str  # its named subject ("Erdoğan" in "What did Erdoğan say?")
    speaker_asked: bool  # asks what that actor said, naming the actor itself (not a resolved "he")
    focus: str  # what a "which ...s" question asks to be named ("European leaders")
    wants_names: bool  # only names answer it (`asks_for_names`)
    content: str  # the thing whose content it asks for ("the root causes of the war"), or ""
    yes_no: bool  # "Did ...?", "Is ...?"
    asks_heading: bool  # about a headline, heading or title

    @property
    def follow_up(self) -> bool:
        return bool(self.history)

    @property
    def previous(self) -> str:
        """The question before this one, or ""."""
        return self.history[-1] if self.history else ""


def read_question(text: str, history: Sequence[str] = ()) -> Question:
    asked = resolve_question(text, history)
    return Question(
        text=text, history=tuple(history), asked=asked, kind=answer_type(asked),
        actor=question_actor(asked), speaker_asked=asks_what_actor_said(asked) and asked == text,
        focus=which_focus(asked), wants_names=asks_for_names(asked), content=content_asked(asked),
        yes_no=bool(_YES_NO.match(text.strip())), asks_heading=bool(_ASKS_HEADING.search(asked)))

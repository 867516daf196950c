"""Who "he" is: a light pronoun resolution for source sentences, so each reads on its own.

"However, he insisted that any negotiations must be preceded by a full ceasefire." answers "What did
Zelenskyy demand before talks?" only once "he" is known to be Zelenskyy. The answerer scores the
*resolved* reading of each sentence ("However, Ukrainian President Volodymyr Zelenskyy insisted
...") while it still quotes and cites the source sentence unchanged.

The rule is the one news prose follows: a sentence that opens with a pronoun continues the subject
of the sentences before it. The subject of a sentence is its first run of capitalised words after
an opening connective ("However,") or framing phrase ("In a televised statement,"), plus a plural
noun right after it ("European leaders"). No model, no table of names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_CONNECTIVE = re.compile(
    r"^(?:(?:however|meanwhile|conversely|moreover|furthermore|instead|still|yet|also|then|"
    r"nevertheless|nonetheless|despite this|in addition|in turn|later|earlier),\s+)",
    re.IGNORECASE)
# "In a televised statement, he ..." / "Despite the proposal for peace talks, Russia ..."
_FRAME = re.compile(
    r"^(?:in|on|at|during|despite|after|before|while|with|without|for|by|from|as|following|"
    r"amid|under|since|when)\b[^,]{0,80},\s+", re.IGNORECASE)
_PRONOUN = re.compile(r"^(he|she|they|his|her|their)\b", re.IGNORECASE)
_NAME_RUN = re.compile(r"(?:[A-Z][\w’'.-]*|(?:of|the)\b)(?:\s+(?:[A-Z][\w’'.-]*|(?:of|the)\b))*")
_PLURAL_NOUN = re.compile(r"^\s+([a-z]{3,}s)\b")
# A run that ends in an adjective of origin ("European", "Turkish") names a group with the noun
# after it ("European leaders"); after a name the next word is the verb ("Kremlin sees").
_ADJECTIVE = re.compile(r"(?:an|ean|ian|ese|ish|ic|al|ern)$")
# "While Putin now advocates talks, he reiterated ...": "he" is the subject of the clause before.
_CLAUSE_FRAME = re.compile(r"^(?:while|although|though|as|after|before|when|since|once)\s+(.+)",
                           re.IGNORECASE)
_NOT_SUBJECTS = frozenset(
    "the a an this that these those it its he she they his her their we our i you in on at "
    "despite while however meanwhile".split())


def _opening(sentence: str) -> tuple[str, str]:
    """(lead, rest): the connective/framing words a sentence opens with, and what follows."""
    rest = sentence
    for pattern in (_CONNECTIVE, _FRAME, _CONNECTIVE):
        m = pattern.match(rest)
        if m:
            rest = rest[m.end():]
    return sentence[: len(sentence) - len(rest)], rest


def subject(sentence: str) -> str:
    """The named subject a sentence opens with ("Russian President Vladimir Putin", "European
    leaders"), or "" when it opens with no name."""
    _, rest = _opening(sentence)
    m = _NAME_RUN.match(rest)
    if not m:
        return ""
    words = m.group(0).split()
    while words and words[0].lower() in _NOT_SUBJECTS:
        words.pop(0)
    while words and words[-1].lower() in ("of", "the"):
        words.pop()
    if not words:
        return ""
    run = " ".join(words)
    plural = _PLURAL_NOUN.match(rest[m.end():])
    return f"{run} {plural.group(1)}" if plural and _ADJECTIVE.search(words[-1]) else run


def resolve(sentence: str, previous: Sequence[str]) -> str:
    """`sentence` with an opening pronoun replaced by the latest named subject of `previous`
    (the sentences before it, nearest last); the sentence unchanged when there is nothing to do."""
    return resolve_from(sentence, previous)[0]


def resolve_from(sentence: str, previous: Sequence[str]) -> tuple[str, int | None]:
    """`resolve`, and which sentence of `previous` named whom the pronoun stands for (None when
    nothing was replaced, or the name came from the sentence's own opening clause)."""
    lead, rest = _opening(sentence)
    m = _PRONOUN.match(rest)
    if not m:
        return sentence, None
    clause = _CLAUSE_FRAME.match(_CONNECTIVE.sub("", lead))
    name = subject(clause.group(1)) if clause else ""
    source = None
    if not name:  # the nearest sentence before that opens with a name
        for i in reversed(range(len(previous))):
            name = subject(previous[i])
            if name:
                source = i
                break
    if not name:
        return sentence, None
    possessive = m.group(1).lower() in ("his", "her", "their")
    replacement = f"{name}’s" if possessive else name
    return f"{lead}{replacement}{rest[m.end():]}", source


# Words that make the capitalised words after them a person's name ("Turkish President Recep
# Tayyip Erdoğan", "Prime Minister Keir Starmer"): the name is then the last of them.
_TITLE = re.compile(
    r"\b(?:President|Minister|Chancellor|Secretary|Premier|King|Queen|Pope|Senator|Governor|"
    r"Mayor|General|Ambassador|Spokesman|Spokeswoman|Chairman|Chairwoman|Director|Judge|"
    r"Prince|Princess|Dr|Mr|Mrs|Ms|Sir|CEO)\b\.?((?:\s+[A-Z][\w’'.-]*)+)")


def short_name(name: str) -> str:
    """How an editor names someone a second time: "Russian President Vladimir Putin" -> "Putin";
    a name without a title ("Zelenskyy", "European leaders", "Kremlin") as it is."""
    m = _TITLE.search(name)
    return m.group(1).split()[-1].rstrip(".") if m else name


def _people(text: str) -> set[str]:
    """The people `text` introduces with a title, by their short name."""
    return {m.group(1).split()[-1].rstrip(".") for m in _TITLE.finditer(text)}


def _groups(text: str) -> set[str]:
    """Groups named the way `subject` names them: "European leaders", "Russian officials"."""
    return {f"{a} {b}" for a, b in re.findall(r"\b([A-Z][\w’'.-]*)\s+([a-z]{3,}s)\b", text)
            if _ADJECTIVE.search(a)}


def named_subject(sentence: str, previous: Sequence[str], context: str = "") -> str:
    """`sentence` with an opening pronoun subject named in brackets, the way an editor inserts a
    name into a quote: "However, he insisted ..." -> "However, [Zelenskyy] insisted ...". Only
    the answer's text: its citation still quotes the source sentence exactly.

    `previous`: the sentences before it, nearest last (as `resolve` reads them); `context`: the
    text before it that may introduce people by title. Named only when the antecedent is clear:
    the name comes from a sentence before (not from the sentence's own clause, "While Putin ...,
    he ..."), "he"/"she" stands for one person (no other person named from that sentence on;
    not a group), "they" for one group ("European leaders"). Otherwise unchanged."""
    _, rest = _opening(sentence)
    m = _PRONOUN.match(rest)
    if not m:
        return sentence
    resolved, source = resolve_from(sentence, previous)
    if source is None:
        return sentence
    name = subject(previous[source])
    since = " ".join(previous[source:])
    pronoun = m.group(1).lower()
    group = name.split()[-1].islower()  # "European leaders"
    if pronoun in ("they", "their"):
        if not group or _groups(since) - {name}:
            return sentence
    else:
        short = short_name(name)
        if group or {p for p in _people(context + " " + since)
                     if p != short and re.search(rf"\b{re.escape(p)}\b", since)}:
            return sentence
        name = short
    label = f"[{name}’s]" if pronoun in ("his", "her", "their") else f"[{name}]"
    at = len(sentence) - len(rest)
    return f"{sentence[:at]}{label}{rest[m.end():]}"


# Connectives that only tie a sentence to the one before it in the source; at the start of an
# answer that sentence is not shown, so the word dangles. Temporal ones ("Later,") carry meaning.
_DANGLING = re.compile(
    r"^(?:however|meanwhile|moreover|furthermore|nevertheless|nonetheless|conversely|instead|"
    r"still|yet|also|in addition|in turn|despite this),\s+(?=\S)", re.IGNORECASE)


def without_connective(sentence: str) -> str:
    """'However, he insisted ...' -> 'He insisted ...', for the first sentence of an answer. Only
    the text shown changes: the citation still quotes the source sentence whole."""
    m = _DANGLING.match(sentence)
    if not m:
        return sentence
    rest = sentence[m.end():]
    return rest[0].upper() + rest[1:]

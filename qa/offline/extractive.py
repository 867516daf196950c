"""The offline answerer: picks the fewest source sentences that answer the question, or abstains.

No generation: every word of an answer is a sentence of a source, quoted at its exact offsets.
`qa.offline.features` describes each candidate sentence of the retrieved passages by a row of
features; `qa.offline.answer_model` (weights fitted on eval/ by training/calibrate.py) ranks them
and decides whether the winner answers the question at all. A second sentence joins when the
ranker finds it nearly as likely. With a reader model (`qa.offline.judge`), it reads the ranker's
first candidates and has the last word (`judged`).
A few checks overrule the model, because no sentence can answer the question when they fail:
- a name or number of the question appears nowhere in the retrieved text ("What did Macron say?");
- the question asks for a number or a time and the answer holds none the question does not give;
- it asks for names ("which European leaders", "by name") and the answer names no one new;
- it asks what someone said, and the answer's speaker is someone else ("What did Erdoğan reply?").
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from qa.offline.answer_model import AnswerModel, case_vector
from qa.offline.features import (
    FEATURES,
    Candidate,
    Lexicon,
    QuestionTerms,
    SentenceVectors,
    candidates,
    featurize,
    question_terms,
    term_in,
)
from qa.offline.judge import Judge, Pair
from qa.offline.questions import Question, has_type, missing_names, says_what_it_is
from qa.offline.resolve import subject
from qa.offline.text import fold
from qa.store.embed import Encoded
from qa.types import Passage

__all__ = ["Analysis", "Choice", "Lexicon", "Pick", "SentenceVectors", "analyse",
           "answer_sentences", "checks", "choose", "closest", "decide", "judge_pair", "judged",
           "log_odds", "span_key", "without_repeats"]

# Asked for, these must be in the answer ("place" only for "where": "which country" is answered by
# "Turkish President ...").
STRICT_TYPES = ("number", "duration", "year", "date", "clock", "time", "place", "place_name")
NEVER_MENTIONED = "the sources never mention"
# ...and what is said when the sources do mention it, only not in any passage found for the
# question ("the sources never mention Norrvik" would be false of a library whose trial report
# names Norrvik once, in its title, far from the passages about the trial's results)
NOT_FOUND = "the passages found never mention"
SHORTLIST = 14  # candidate sentences scored per question (see _shortlist)
PASSAGE_RANK_WEIGHT = 0.5  # in the shortlist prior: the best passage's sentences get +0.5


@dataclass(frozen=True)
class Pick:
    """The extractive answer before it is turned into an Answer: the chosen sentences in source
    order, or none (abstain), with what decided it."""

    sentences: tuple[Candidate, ...]
    confidence: float  # the abstainer's margin: >= 0 answers (unless a check overrules it)
    reasons: tuple[str, ...] = ()  # why it abstains: the failed checks, for the user to read
    best: Candidate | None = None  # the sentence chosen first, when it answers
    # The `span_key`s of the sentences that hold the kind of thing the question asks for ("when":
    # a time it does not state; "why": a reason); none when the question asks for no kind.
    holding: frozenset[tuple[str, int, int]] = frozenset()

    @property
    def why(self) -> str:
        """What to tell the user when it abstains because of a check ("" when the model was just
        not confident enough: there is nothing more precise to say then)."""
        return "; ".join(self.reasons)

    @property
    def supported(self) -> bool:
        return bool(self.sentences)


@dataclass(frozen=True)
class Analysis:
    """What the answerer worked out about one question before deciding."""

    question: Question
    candidates: tuple[Candidate, ...]
    matrix: np.ndarray  # (len(candidates), len(FEATURES))
    missing: tuple[str, ...]  # names/numbers of the question not found in the retrieved text
    unknown_share: float  # weight share of the question's words that the sources never use
    elsewhere: tuple[str, ...] = ()  # those of `missing` that the sources do use, elsewhere


def analyse(q: Question, passages: Sequence[Passage], asked: Encoded, question_vec: np.ndarray,
            context_vec: np.ndarray | None, vectors: SentenceVectors,
            lexicon: Lexicon) -> Analysis:
    qt = question_terms(q.asked, q.history, lexicon)  # read once, used by all that follows
    cands = _shortlist(candidates(passages), passages, qt, lexicon)
    rank = {p.chunk.id: i for i, p in enumerate(passages)}
    matrix = (featurize(q, qt, cands, [rank[c.chunk.id] for c in cands], asked, question_vec,
                        context_vec, vectors, lexicon)
              if cands else np.zeros((0, len(FEATURES))))
    unknown = sum(w for t, w in qt.weights.items() if t not in lexicon.vocabulary) / qt.total
    missing = missing_names(q.text, passages)
    elsewhere = tuple(w for w in missing if _in_sources(w, lexicon))
    return Analysis(q, tuple(cands), matrix, missing, unknown, elsewhere)


def _in_sources(name: str, lexicon: Lexicon) -> bool:
    """Whether the indexed chunks use every word of `name` (as the lexicon stems them)."""
    terms = lexicon.terms(name)
    return bool(terms) and all(t in lexicon.vocabulary for t in terms)


@dataclass(frozen=True)
class Choice:
    """The ranker's pick before abstention: rows of the analysis, best first."""

    rows: tuple[int, ...]
    confidence: float  # the abstainer's margin over its threshold
    reasons: tuple[str, ...]  # failed checks that overrule any confidence
    # The checks that the ranker's first sentence failed when the runner-up stepped in: what to
    # tell the user if the runner-up is not convincing either.
    stepped_over: tuple[str, ...] = ()
    ranked: tuple[int, ...] = ()  # every row the ranker allows, best first
    probs: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the ranker's, per row
    overruled: tuple[tuple[str, ...], ...] = ()  # per row: the checks that rule it out


def choose(analysis: Analysis, model: AnswerModel) -> Choice:
    f = analysis.matrix
    scores, probs = model.rank(f)
    ok = _possible_speakers(analysis)
    if ok is not None and ok.any() and not ok.all():
        # "What did Ukraine say?": the best sentence among those where the speaker may be Ukraine.
        scores = np.where(ok, scores, -np.inf)
        probs = np.where(ok, probs, 0.0) / probs[ok].sum()
    order = [int(i) for i in np.argsort(-scores)]
    cks = checks(analysis, ok)  # once: each check reads the question and every candidate

    def ruled_out(row: int) -> list[str]:
        return _overruled(analysis, cks, row)

    stepped_over: tuple[str, ...] = ()
    if len(order) > 1 and ruled_out(order[0]) and not ruled_out(order[1]):
        # "Where did he post his response?": "His response underlined ..." ranks first but names
        # no place; the runner-up "In a message on X, ..." does. Only the runner-up may step in:
        # further down, a sentence of the right kind is as often a trap's wrong answer.
        stepped_over = tuple(ruled_out(order[0]))
        order = [order[1], order[0]] + order[2:]
    best = order[0]
    rows = [best]
    runner_up = order[1] if len(order) > 1 else None
    # A heading joins an answer only when the question asks about headings: as a second
    # sentence it repeats the topic and adds nothing.
    if runner_up is not None and probs[runner_up] >= model.second_ratio * probs[best] and not (
            analysis.candidates[runner_up].heading
            and not f[runner_up, FEATURES.index("heading_asked")]):
        rows.append(runner_up)
    confidence = model.confidence(case_vector(f, scores, probs, best, analysis.question,
                                              analysis.unknown_share))
    allowed = tuple(i for i in order if np.isfinite(scores[i]))  # not masked for the speaker
    overruled = tuple(tuple(ruled_out(i)) for i in range(len(analysis.candidates)))
    return Choice(tuple(rows), confidence, tuple(ruled_out(best)), stepped_over, allowed, probs,
                  overruled)


def decide(analysis: Analysis, model: AnswerModel, judge: Judge | None = None) -> Pick:
    """The answer sentences, or none. With a `judge` (and judge weights in `model`), the reader
    model reads the ranker's first few candidates and has the last word (see `judged`)."""
    if not analysis.candidates:
        return Pick((), float("-inf"))
    choice = choose(analysis, model)
    if judge is not None and model.judge is not None and not analysis.missing:
        # (a name the sources never mention refuses whatever the reader says: not asked)
        choice = judged(analysis, model, choice, judge.probabilities(
            analysis.question.asked, [judge_pair(analysis.candidates[i])
                                      for i in choice.ranked[:model.judge.candidates]]))
    if choice.reasons or choice.confidence < 0:
        return Pick((), choice.confidence, choice.reasons or choice.stepped_over)
    sentences = answer_sentences(analysis, choice)
    q = analysis.question
    holding = frozenset(_key(c) for c in sentences
                        if q.kind is not None and has_type(c.text, q.kind, True, q.asked))
    return Pick(sentences, choice.confidence, best=analysis.candidates[choice.rows[0]],
                holding=holding)


def span_key(source: str, start: int, end: int) -> tuple[str, int, int]:
    """What identifies a quoted sentence across answers: its file and exact offsets."""
    return (source, start, end)


def without_repeats(pick: Pick, given: Collection[tuple[str, int, int]]) -> Pick:
    """A follow-up's answer without the sentences that an earlier answer of the conversation
    already gave (`given`: their `span_key`s), unless such a sentence is itself the answer: the
    one chosen first, or one that holds what the question asks for (the time, for "when").
    "When?" after "Where did Putin propose holding the talks?" is answered by the sentence that
    gives Thursday, not by the Istanbul sentence again before it. Asked again, the answer is
    given again (the sentence chosen first always stays)."""
    if pick.best is None or len(pick.sentences) < 2:
        return pick
    answer = {_key(pick.best)} | pick.holding
    kept = tuple(c for c in pick.sentences if _key(c) in answer or _key(c) not in given)
    return pick if len(kept) == len(pick.sentences) else replace(pick, sentences=kept)


def _key(c: Candidate) -> tuple[str, int, int]:
    return span_key(c.chunk.source, c.span.start, c.span.end)


def judge_pair(c: Candidate) -> Pair:
    """What the judge reads of a candidate: the sentence, pronoun resolved, and the one before."""
    return Pair(c.resolved, c.antecedent)


def judged(analysis: Analysis, model: AnswerModel, choice: Choice,
           p_yes: Sequence[float]) -> Choice:
    """The choice once the reader model has said, for each of the ranker's first candidates
    (`choice.ranked[:len(p_yes)]`), how likely it states the answer. The winner is the best by
    the ranker's log-probability plus the judge's log-odds; it answers when a logistic score of
    the ranker's own confidence and the judge's log-odds for the winner says so. The checks on
    the kind of thing asked for (a time, a number, names...) are regular expressions written for
    news: a sentence the judge finds clearly answering is not overruled by them; a name no
    passage found mentions always overrules."""
    params = model.judge
    assert params is not None
    rows = list(choice.ranked[:len(p_yes)])
    odds = [log_odds(p) for p in p_yes]
    combined = [math.log(max(float(choice.probs[r]), 1e-12)) + params.rank_weight * o
                for r, o in zip(rows, odds, strict=True)]
    order = sorted(range(len(rows)), key=lambda i: -combined[i])
    best = order[0]
    confidence = params.score(choice.confidence, odds[best])
    # (a missing name is then the only reason told: `_overruled`)
    reasons = (choice.overruled[rows[best]]
               if analysis.missing or p_yes[best] < params.waive else ())
    chosen = [rows[best]]
    if len(order) > 1 and p_yes[order[1]] >= params.waive and not choice.overruled[rows[order[1]]]:
        chosen.append(rows[order[1]])
    return replace(choice, rows=tuple(chosen), confidence=confidence, reasons=reasons,
                   stepped_over=())


def log_odds(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def answer_sentences(analysis: Analysis, choice: Choice) -> tuple[Candidate, ...]:
    """The sentences the answer quotes, in source order: the chosen ones and, when the question
    asks who, the sentence naming whom a chosen "He blamed Kyiv ..." means by "he" (unless the
    question names that person itself: "Whom does Putin blame?")."""
    chosen = [analysis.candidates[i] for i in choice.rows]
    if analysis.question.kind == "person":
        asked = fold(analysis.question.asked)
        for c in list(chosen):
            if c.named_in is not None and not any(
                    fold(w) in asked for w in subject(c.named_in.text).split() if len(w) > 2):
                chosen.append(c.named_in)
    unique = {(c.chunk.source, c.span.start): c for c in chosen}
    return tuple(unique[k] for k in sorted(unique))


_KIND_WORDS = {"number": "number", "duration": "length of time", "year": "year", "date": "date",
               "clock": "time of day", "time": "time", "place": "place", "place_name": "place name"}


def checks(analysis: Analysis, speakers: np.ndarray | None) -> list[tuple[np.ndarray, str]]:
    """The checks that apply to this question: per candidate whether it passes, and what to tell
    the user when the answer fails it. `speakers` is `_possible_speakers(analysis)`, which the
    caller has already worked out. (Ranking only among the candidates that pass them all was
    tried: it finds a wrong sentence of the right kind for as many traps as it rescues answers.)"""
    f, q = analysis.matrix, analysis.question
    out = []
    wanted = q.kind
    if wanted in STRICT_TYPES and (wanted != "place" or "where" in q.asked.lower()):
        out.append((f[:, FEATURES.index("type_strong")] > 0,
                    f"the passages on this give no {_KIND_WORDS[wanted]} that the question does "
                    "not already state"))
    if q.wants_names:
        out.append((f[:, FEATURES.index("new_name")] > 0,
                    "the passages on this name no one that the question does not already name"))
    thing = q.content
    if thing:
        out.append((np.array([says_what_it_is(c.text, thing) for c in analysis.candidates]),
                    f"the sources mention {thing} but do not say what {_it(thing)}"))
    if speakers is not None:
        out.append((speakers, f"the sources do not say what {q.actor} said"))
    return out


def _it(thing: str) -> str:
    head = thing.split(" of ")[0].split()[-1]
    return "they are" if head.endswith("s") and not head.endswith("ss") else "it is"


def _possible_speakers(analysis: Analysis) -> np.ndarray | None:
    """For "What did Erdoğan say?" (the speaker named, not a resolved "he"): per candidate, whether
    Erdoğan may be its speaker. None for other questions."""
    if not analysis.question.speaker_asked:
        return None
    return analysis.matrix[:, FEATURES.index("same_actor")] >= 0


def _overruled(analysis: Analysis, cks: list[tuple[np.ndarray, str]], row: int) -> list[str]:
    """What rules out candidate `row` whatever the model thinks, as sentences for the user: a name
    of the question the sources never mention (said alone: "the sources never mention Macron"
    already tells why they do not say what Macron said), else the failed checks `cks` (see
    `checks`). Any non-empty list rules the row out, so which reasons are told changes no answer.
    A missing name the sources do use elsewhere is told as such: it was not found near the rest
    of the question, which is all the answerer can say of it."""
    if analysis.missing:
        q = analysis.question.text
        unknown = [w for w in analysis.missing if w not in analysis.elsewhere]
        if unknown:
            return [f"{NEVER_MENTIONED} {_names(q, unknown)}"]
        return [f"{NOT_FOUND} {_names(q, analysis.missing)}"]
    return [why for passed, why in cks if not passed[row]]


def _names(question: str, names: Sequence[str]) -> str:
    """("Emmanuel", "Macron", "Xi") asked as "Emmanuel Macron ... Xi" -> "Emmanuel Macron and
    Xi": words side by side in the question stay one name."""
    groups: list[str] = []
    for name in names:
        if groups and f"{groups[-1]} {name}" in question:
            groups[-1] = f"{groups[-1]} {name}"
        else:
            groups.append(name)
    return groups[0] if len(groups) == 1 else f"{', '.join(groups[:-1])} and {groups[-1]}"


def closest(analysis: Analysis, model: AnswerModel, k: int = 3) -> tuple[Candidate, ...]:
    """The `k` candidate sentences the ranker likes best, best first, headings left out: shown
    under a refusal as the nearest the sources came (never as an answer)."""
    if not analysis.candidates:
        return ()
    scores, _ = model.rank(analysis.matrix)
    rows = [int(i) for i in np.argsort(-scores, kind="stable")
            if not analysis.candidates[int(i)].heading]
    picked: list[Candidate] = []
    for i in rows:
        c = analysis.candidates[i]
        if all((c.chunk.source, c.span.start) != (p.chunk.source, p.span.start) for p in picked):
            picked.append(c)
        if len(picked) == k:
            break
    return tuple(picked)


def _shortlist(cands: list[Candidate], passages: Sequence[Passage], qt: QuestionTerms,
               lexicon: Lexicon) -> list[Candidate]:
    """The SHORTLIST candidates most worth scoring: by the question words they hold and by the
    rank of their passage. Scoring embeds each new sentence (a model call), so the long tail of
    sentences that share nothing with the question is left out."""
    if len(cands) <= SHORTLIST:
        return cands
    rank = {p.chunk.id: i for i, p in enumerate(passages)}

    def prior(c: Candidate) -> float:
        words = set(lexicon.terms(c.resolved)) | set(lexicon.terms(c.antecedent))
        return (sum(w for t, w in qt.weights.items() if term_in(t, words)) / qt.total
                + PASSAGE_RANK_WEIGHT / (1 + rank.get(c.chunk.id, len(passages))))

    keep = set(sorted(range(len(cands)), key=lambda i: -prior(cands[i]))[:SHORTLIST])
    return [c for i, c in enumerate(cands) if i in keep]

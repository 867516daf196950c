"""`qa eval FILE.jsonl`: answer accuracy, citation hits, abstention, answer length, exact quotes.

One case per line:
{"id": "...", "turns": ["earlier question", ..., "question"], "answerable": true,
 "answers": [["istanbul"], ["thursday", "thu"]], "evidence": ["exact substring of the source"]}
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import QAError, SourceError
from qa.types import Answer

AnswerFn = Callable[[str, list[str]], Answer]
SourceTextFn = Callable[[str], str]


@dataclass(frozen=True)
class Case:
    id: str
    turns: list[str]
    answerable: bool
    answers: list[list[str]]
    evidence: list[str]


@dataclass(frozen=True)
class CaseResult:
    case: Case
    answer: Answer | None
    error: str = ""
    correct: bool = False  # answerable: supported and every answer group matched; else abstained
    cited_evidence: bool = False
    exact_quotes: int = 0


@dataclass(frozen=True)
class EvalReport:
    results: list[CaseResult] = field(default_factory=list)

    def _of(self, answerable: bool) -> list[CaseResult]:
        return [r for r in self.results if r.case.answerable == answerable]

    @property
    def answer_accuracy(self) -> float:
        return _share(r.correct for r in self._of(True))

    @property
    def answerable_refused(self) -> float:
        """Share of the answerable cases it refused: the other way an answer is missed than
        answering wrongly (1 - answer_accuracy - this)."""
        return _share(not (r.answer and r.answer.supported) for r in self._of(True))

    @property
    def citation_hit_rate(self) -> float:
        return _share(r.cited_evidence for r in self._of(True))

    @property
    def abstention_accuracy(self) -> float:
        return _share(r.correct for r in self._of(False))

    @property
    def median_words(self) -> float:
        lengths = [_word_count(r.answer.text) for r in self.results
                   if r.answer and r.answer.supported]
        return float(statistics.median(lengths)) if lengths else 0.0

    @property
    def exact_quote_share(self) -> float:
        total = sum(len(r.answer.citations) for r in self.results if r.answer)
        return sum(r.exact_quotes for r in self.results) / total if total else 1.0

    def summary(self) -> dict[str, float | int]:
        return {
            "cases": len(self.results),
            "answerable": len(self._of(True)),
            "unanswerable": len(self._of(False)),
            "answer_accuracy": round(self.answer_accuracy, 4),
            "answerable_refused": round(self.answerable_refused, 4),
            "citation_hit_rate": round(self.citation_hit_rate, 4),
            "abstention_accuracy": round(self.abstention_accuracy, 4),
            "median_answer_words": self.median_words,
            "exact_quote_share": round(self.exact_quote_share, 4),
            "errors": sum(1 for r in self.results if r.error),
        }


def load_cases(path: Path) -> list[Case]:
    cases = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror})") from None
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            cases.append(Case(str(d["id"]), list(d["turns"]), bool(d["answerable"]),
                              [list(g) for g in d.get("answers", [])], list(d.get("evidence", []))))
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceError(f"{path}:{no}: not a valid case ({exc}); see `qa eval --help`") \
                from None
    return cases


def run(cases: Sequence[Case], answer_fn: AnswerFn, source_text: SourceTextFn) -> EvalReport:
    texts: dict[str, str] = {}
    results = []
    for case in cases:
        try:
            a = answer_fn(case.turns[-1], case.turns[:-1])
        except QAError as exc:
            results.append(CaseResult(case, None, error=str(exc)))
            continue
        exact = 0
        for c in a.citations:
            if c.source not in texts:
                texts[c.source] = source_text(c.source)
            exact += texts[c.source][c.start : c.end] == c.quote
        if case.answerable:
            correct = a.supported and holds(a.text, case.answers)
        else:
            correct = not a.supported
        hit = any(_overlaps(c.start, c.end, texts[c.source], ev)
                  for c in a.citations for ev in case.evidence)
        results.append(CaseResult(case, a, "", correct, hit, exact))
    return EvalReport(results)


def holds(text: str, answers: list[list[str]]) -> bool:
    """Every answer group has one of its alternatives in `text` (case-insensitive): what makes an
    answer correct here, and a candidate sentence right for the fitting scripts in `bench/`."""
    low = text.lower()
    return all(any(alt.lower() in low for alt in group) for group in answers)


def _overlaps(start: int, end: int, text: str, evidence: str) -> bool:
    at = text.find(evidence)
    while at >= 0:
        if at < end and start < at + len(evidence):
            return True
        at = text.find(evidence, at + 1)
    return False


def _word_count(text: str) -> int:
    return len(re.sub(r"\[(?:\d+|unsupported)\]", "", text).split())


def _share(flags: object) -> float:
    values = list(flags)  # type: ignore[call-overload]
    return sum(values) / len(values) if values else 0.0

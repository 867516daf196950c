"""Fits how the reader model's verdicts enter the offline answerer (`JudgeWeights` in
qa/offline/answer_model.json), on question sets over many documents:

    python training/fit_judge.py eval/dev.jsonl eval/heldout.jsonl eval/other/b1a1.jsonl \
        eval/genres/*.jsonl --limit 25 --write

For each case the shipped ranker and abstainer run as they are; the reader model (QA_JUDGE, the
local model by default) reads the ranker's first `--candidates` sentences. Its verdicts are cached
(`--cache`), so refitting after a change to the fit alone asks the model nothing. Then a grid over
the ranking weight and the waiving threshold, a logistic fit of the answer-or-abstain score on the
ranker's confidence and the judge's log-odds, and a threshold that best meets the bars (90 %
answers, 85 % abstention). Each case goes through the answerer's own `judged` and
`answer_sentences`, and is scored as `qa eval` scores an answer (`qa.evaluate.holds`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibrate import fit_logistic  # noqa: E402
from casesets import Case, collect, make_engines  # noqa: E402

from qa.config import Settings  # noqa: E402
from qa.evaluate import holds  # noqa: E402
from qa.offline.answer_model import MODEL_FILE, AnswerModel, JudgeWeights  # noqa: E402
from qa.offline.extractive import (  # noqa: E402
    Choice,
    answer_sentences,
    choose,
    judge_pair,
    judged,
    log_odds,
)
from qa.offline.judge import Judge, judge_from_settings  # noqa: E402

RANK_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
WAIVES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.01)
@dataclass(frozen=True)
class Judged:
    case: Case
    choice: Choice  # the shipped ranker's
    p_yes: tuple[float, ...]  # the judge's, for choice.ranked[:len(p_yes)]


@dataclass(frozen=True)
class Outcome:
    """One case under one ranking weight and waiving threshold: what the answer-or-abstain score
    reads, and whether the answer, if given, would be right (as `qa eval` scores it)."""

    answerable: bool
    overruled: bool
    ranker_confidence: float
    judge_log_odds: float  # for the winner
    right: bool


def judge_cases(cases: list[Case], model: AnswerModel, judge: Judge, k: int,
                cache_path: Path) -> list[Judged]:
    cache: dict[str, float] = {}
    if cache_path.exists():
        for line in cache_path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            cache[entry["key"]] = entry["p"]
    out = []
    started = time.time()
    with cache_path.open("a", encoding="utf-8") as sink:
        for n, c in enumerate(cases, 1):
            if not c.analysis.candidates:
                continue
            choice = choose(c.analysis, model)
            p = []
            for r in choice.ranked[:k]:
                pair = judge_pair(c.analysis.candidates[r])
                key = json.dumps([judge.name, c.analysis.question.asked, pair.sentence,
                                  pair.context])
                if key not in cache:
                    cache[key] = judge.probabilities(c.analysis.question.asked, [pair])[0]
                    sink.write(json.dumps({"key": key, "p": cache[key]}) + "\n")
                    sink.flush()
                p.append(cache[key])
            out.append(Judged(c, choice, tuple(p)))
            if n % 50 == 0:
                print(f"  {n}/{len(cases)} cases judged ({time.time() - started:.0f} s)",
                      file=sys.stderr)
    return out


def outcomes(judged_cases: list[Judged], model: AnswerModel, probe: JudgeWeights
             ) -> list[Outcome]:
    """Each case through the answerer's own `judged` with `probe`'s ranking weight and waiving
    threshold (the winner, its checks and its answer do not depend on the score's weights)."""
    with_probe = replace(model, judge=probe)
    out = []
    for j in judged_cases:
        chosen = judged(j.case.analysis, with_probe, j.choice, j.p_yes)
        p_best = j.p_yes[j.choice.ranked.index(chosen.rows[0])]
        text = " ".join(c.text for c in answer_sentences(j.case.analysis, chosen))
        out.append(Outcome(j.case.case.answerable, bool(chosen.reasons), j.choice.confidence,
                           log_odds(p_best), holds(text, j.case.case.answers)))
    return out


def without_reader(judged_cases: list[Judged], model: AnswerModel) -> tuple[float, float]:
    """(answers, abstention) of the shipped answerer without the reader, on the same cases."""
    right, refused = [], []
    for j in judged_cases:
        answered = not j.choice.reasons and j.choice.confidence >= 0
        if j.case.case.answerable:
            text = " ".join(c.text for c in answer_sentences(j.case.analysis, j.choice))
            right.append(answered and holds(text, j.case.case.answers))
        else:
            refused.append(not answered)
    return float(np.mean(right)), float(np.mean(refused))


def _rates(cases: list[Outcome], w: JudgeWeights) -> tuple[float, float]:
    right, refused = [], []
    for o in cases:
        answered = not o.overruled and w.score(o.ranker_confidence, o.judge_log_odds) >= 0
        if o.answerable:
            right.append(answered and o.right)
        else:
            refused.append(not answered)
    return float(np.mean(right)), float(np.mean(refused))


def objective(rates: tuple[float, float], floor: float | None) -> tuple[float, ...]:
    """What the fit maximises: the nearer bar (90 % answers, 85 % abstention) by default; with
    a `floor`, the most answers among weights that abstain at least that often."""
    if floor is not None:
        return (float(rates[1] >= floor), rates[0], rates[1])
    return (min(rates[0] / 0.90, rates[1] / 0.85), rates[0] + rates[1])


def fit(judged_cases: list[Judged], model: AnswerModel, k: int, name: str,
        floor: float | None = None) -> tuple[JudgeWeights, tuple[float, float]]:
    """The best weights reading the first 1..k candidates (fewer is faster: one model call each)."""
    best: tuple[tuple[float, float], JudgeWeights, tuple[float, float]] | None = None
    for n in range(1, k + 1):
        fewer = [replace(j, p_yes=j.p_yes[:n]) for j in judged_cases]
        weights, rates = _fit_reading(fewer, model, n, name, floor)
        score = objective(rates, floor) + (-n,)  # fewer is faster on a tie
        print(f"  reading {n}: answers {rates[0]:.1%}, abstention {rates[1]:.1%}", file=sys.stderr)
        if best is None or score > best[0]:
            best = (score, weights, rates)
    assert best is not None
    return best[1], best[2]


def _fit_reading(judged_cases: list[Judged], model: AnswerModel, k: int, name: str,
                 floor: float | None) -> tuple[JudgeWeights, tuple[float, float]]:
    best: tuple[tuple[float, float], JudgeWeights, tuple[float, float]] | None = None
    for a in RANK_WEIGHTS:
        for waive in WAIVES:
            cases = outcomes(judged_cases, model, JudgeWeights(k, a, 0.0, 0.0, 0.0, waive, name))
            kept = [o for o in cases if not o.overruled]
            x = np.array([[o.ranker_confidence, o.judge_log_odds] for o in kept])
            y = np.array([float(o.answerable and o.right) for o in kept])
            w = fit_logistic(x, y, 1.0)
            for shift in np.linspace(-3, 3, 61):
                weights = JudgeWeights(k, a, float(w[2] + shift), float(w[0]), float(w[1]), waive,
                                       name)
                rates = _rates(cases, weights)
                score = objective(rates, floor)
                if best is None or score > best[0]:
                    best = (score, weights, rates)
    assert best is not None
    return best[1], best[2]


def report_ceiling(cases: list[Case], model: AnswerModel) -> None:
    """How often a right sentence is among the ranker's first k: what a judge reading k
    candidates can at best reach on the answerable cases."""
    answerable = [c for c in cases if c.case.answerable]
    for k in (1, 2, 3, 5):
        hit = sum(any(c.right[r] for r in choose(c.analysis, model).ranked[:k])
                  for c in answerable if c.analysis.candidates)
        print(f"  a right sentence in the ranker's first {k}: {hit / max(1, len(answerable)):.1%}",
              file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--limit", type=int, default=0, help="first N cases of each set (0: all)")
    ap.add_argument("--every", type=int, default=1,
                    help="every Nth case of each set (the sets list answerable cases first, so "
                    "this keeps the sample's mix, where --limit does not)")
    ap.add_argument("--library", action="store_true",
                    help="ask every set in one library of all documents (bench/library.py), "
                    "as the benchmark does, instead of each over its own document")
    ap.add_argument("--candidates", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "qa-judge.jsonl")
    ap.add_argument("--write", action="store_true", help="save the weights into the answer model")
    ap.add_argument("--min-abstention", type=float, default=None,
                    help="fit for the most answers that keep abstention at least this (0..1)")
    ap.add_argument("--work", type=Path, default=None,
                    help="keep the library and its index here, to reuse across runs")
    ap.add_argument("--out", type=Path, default=MODEL_FILE,
                    help="where --write saves the answer model (default: the shipped one)")
    args = ap.parse_args()
    model = AnswerModel.load()
    settings = Settings.from_env()
    judge = judge_from_settings(settings if settings.judge != "auto"
                                else settings.with_(judge="local"))
    if judge is None:
        sys.exit("QA_JUDGE=off: nothing to fit")
    with tempfile.TemporaryDirectory() as temporary:
        scratch = args.work or Path(temporary)
        engines = make_engines(scratch, model, args.library)
        cases = []
        for path in args.sets:
            got = collect(engines, [path])[::args.every]
            cases += got[:args.limit] if args.limit else got
        print(f"{len(cases)} cases from {len(args.sets)} sets", file=sys.stderr)
        report_ceiling(cases, model)
        judged_cases = judge_cases(cases, model, judge, args.candidates, args.cache)
    base = without_reader(judged_cases, model)
    print(f"without the reader: answers {base[0]:.1%}, abstention {base[1]:.1%}",
          file=sys.stderr)
    weights, (answers, abstain) = fit(judged_cases, model, args.candidates, judge.name,
                                      args.min_abstention)
    print(json.dumps(weights.to_json()))
    print(f"fitted, in sample: answers {answers:.1%}, abstention {abstain:.1%} "
          f"({sum(j.case.case.answerable for j in judged_cases)} answerable, "
          f"{sum(not j.case.case.answerable for j in judged_cases)} not)")
    if args.write:
        replace(model, judge=weights).save(args.out)
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()

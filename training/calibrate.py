"""Fits the offline answerer's weights (qa/answer_model.json) on question sets, and checks them.

    python training/calibrate.py eval/dev.jsonl eval/heldout.jsonl eval/train.jsonl eval/train2.jsonl
        --cv      leave one set out at a time: fit on the others, measure on it (how well the
                  weights carry over to questions they were not fitted on)
        --write   fit on all the sets given and write qa/answer_model.json
        --check eval/other/*.jsonl   measure the fitted weights on other sets (here: other
                  documents), each and all together
    python training/calibrate.py --fitted --check eval/sealed_docs/*.jsonl
                  measure qa/answer_model.json as shipped, without refitting

A set over another document (`eval/other/b1a1.jsonl` beside `b1a1.txt`) is answered over that
document alone (see training/casesets.py); with --library every set is asked in the library of all
documents (bench/library.py), as the benchmarks ask, so the ranker learns to find the document too.

What is fitted (see qa/answer_model.py): a softmax ranker over the candidate sentences' features,
then a logistic abstainer over the winner's features, then the abstainer's threshold, chosen to
balance the two bars of issue 2 (answers right >= 90 %, unanswerable questions refused >= 85 %):
it maximises min(answer accuracy / 0.90, abstention accuracy / 0.85).
A case's "right" sentence is one that holds every answer group of the case (`answers` in the
.jsonl), which is what `qa eval` counts as a right answer.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))

from casesets import Case, collect, corpus_of, make_engines, placeholder_model  # noqa: E402

from qa.evaluate import holds
from qa.offline.answer_model import CASE_FEATURES, AnswerModel, case_vector  # noqa: E402
from qa.offline.extractive import answer_sentences, choose  # noqa: E402
from qa.offline.features import FEATURES  # noqa: E402

RANK_L2 = 0.1
ABSTAIN_L2 = 1.0
SECOND_RATIO = 0.3
TRADE_OFF = (-1.5, -1.0, -0.5, 0.5, 1.0)  # threshold shifts --cv reports answers / abstention at


def fit_ranker(cases: list[Case], l2: float) -> np.ndarray:
    """Conditional logit: maximise the probability mass of the right sentences, per question."""
    groups = [(c.analysis.matrix, c.right) for c in cases if c.right.any()]
    width = groups[0][0].shape[1] if groups else len(FEATURES)  # FEATURES, or more to try some

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = 0.5 * l2 * w @ w, l2 * w
        for x, right in groups:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            mass = p[right].sum()
            value -= np.log(mass + 1e-12)
            grad = grad - (p[right] @ x[right]) / (mass + 1e-12) + p @ x
        return value, grad

    return minimize(loss, np.zeros(width), jac=True, method="L-BFGS-B").x


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method; returns weights then bias."""
    x1 = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x1.shape[1])
    penalty = l2 * np.diag(np.r_[np.ones(x.shape[1]), 0.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x1 @ w))
        grad = x1.T @ (p - y) + penalty @ w
        hess = (x1 * (p * (1 - p))[:, None]).T @ x1 + penalty
        w -= np.linalg.solve(hess, grad)
    return w


def fit(cases: list[Case], trained_on: tuple[str, ...] = ()) -> AnswerModel:
    rank_weights = fit_ranker(cases, RANK_L2)
    n_case = len(CASE_FEATURES) + len(rank_weights) - len(FEATURES)
    plain = AnswerModel(rank_weights, np.zeros(n_case + 1), np.zeros(n_case), np.ones(n_case),
                        threshold=0.0, second_ratio=SECOND_RATIO, trained_on=trained_on)
    rows, labels = [], []
    for c in cases:
        if not c.analysis.candidates:
            continue
        choice = choose(c.analysis, plain)
        if choice.reasons:  # overruled anyway: nothing for the abstainer to learn
            continue
        best = choice.rows[0]
        scores, probs = plain.rank(c.analysis.matrix)
        rows.append(case_vector(c.analysis.matrix, scores, probs, best, c.analysis.question,
                                c.analysis.unknown_share))
        labels.append(float(c.right[best]))
    x, y = np.array(rows), np.array(labels)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    weights = fit_logistic((x - mean) / scale, y, ABSTAIN_L2)
    model = replace(plain, abstain_weights=weights, abstain_mean=mean, abstain_scale=scale)
    raw = [(c, choose(c.analysis, model)) for c in cases if c.analysis.candidates]
    best_t = max(np.linspace(-4, 4, 161), key=lambda t: _objective(raw, t))
    return replace(model, threshold=float(best_t))


def _without(cases: list[Case], drop: list[str]) -> list[Case]:
    """`cases` with the features `drop` set to 0 in every candidate's row."""
    if not drop:
        return cases
    columns = [FEATURES.index(f) for f in drop]
    out = []
    for c in cases:
        matrix = c.analysis.matrix.copy()
        matrix[:, columns] = 0.0
        out.append(replace(c, analysis=replace(c.analysis, matrix=matrix)))
    return out


def _objective(raw: list, t: float) -> tuple[float, float]:
    answers, abstain = _rates(raw, t)
    return min(answers / 0.90, abstain / 0.85), answers + abstain


def _rates(raw: list, t: float) -> tuple[float, float]:
    right, refused = [], []
    for c, choice in raw:
        answered = choice is not None and not choice.reasons and choice.confidence >= t
        if c.case.answerable and choice is not None:
            text = " ".join(s.text for s in answer_sentences(c.analysis, choice))
            right.append(answered and holds(text, c.case.answers))
        elif c.case.answerable:
            right.append(False)
        else:
            refused.append(not answered)
    return float(np.mean(right)) if right else 0.0, float(np.mean(refused)) if refused else 0.0


def measure(model: AnswerModel, cases: list[Case]) -> tuple[float, float]:
    """(answer accuracy, abstention accuracy) of `model` on `cases`, as `qa eval` counts them."""
    return _rates(_choices(model, cases), 0.0)


def _choices(model: AnswerModel, cases: list[Case]) -> list:
    return [(c, choose(c.analysis, model) if c.analysis.candidates else None) for c in cases]


def right_rank(model: AnswerModel, case: Case) -> int:
    """Where the ranker puts the first sentence that holds the case's answers (0 = first)."""
    order = list(np.argsort(-model.rank(case.analysis.matrix)[0]))
    return min(order.index(i) for i in np.flatnonzero(case.right))


def _print_misses(model: AnswerModel, cases: list[Case]) -> None:
    for c in cases:
        if not c.analysis.candidates:
            continue
        choice = choose(c.analysis, model)
        answered = not choice.reasons and choice.confidence >= 0
        text = " ".join(s.text for s in answer_sentences(c.analysis, choice))
        ok = (answered and holds(text, c.case.answers)) if c.case.answerable else not answered
        if not ok:
            rank = right_rank(model, c) if c.right.any() else -1
            print(f"  {c.case.id} {'A' if c.case.answerable else 'U'} "
                  f"{'answered' if answered else 'abstained'} conf={choice.confidence:+.2f} "
                  f"right-rank={rank} {c.case.turns[-1][:70]!r} -> {text[:60]!r} {choice.reasons}")


def cross_validate(cases: list[Case], sets: list[Path], folds: int = 0,
                   details: bool = False) -> None:
    """Fits without one set (or, with `folds`, one group of sets: set i in group i mod folds) at
    a time and measures on it; prints per group, per kind of document, and the ranking."""
    ranks: list[int] = []
    held_out: list = []  # (case, choice) of every case, by the model fitted without it
    groups = ([[str(p) for p in sets[i::folds]] for i in range(folds)]
              if folds else [[str(p)] for p in sets])
    for held in groups:
        rest = [c for c in cases if c.source not in held]
        model = fit(rest)
        these = [c for c in cases if c.source in held]
        raw = _choices(model, these)
        held_out += raw
        a, u = _rates(raw, 0.0)
        print(f"cv {' '.join(held)}: answers {a:.1%}  abstention {u:.1%}")
        ranks += [right_rank(model, c) for c in these if c.right.any()]
        if details:
            _print_misses(model, these)
    a, u = _rates(held_out, 0.0)
    print(f"cv all {len(held_out)} cases: answers {a:.1%}  abstention {u:.1%}")
    for label, seeds in (("the seed article", True), ("other documents", False)):
        part = [(c, ch) for c, ch in held_out
                if (corpus_of(Path(c.source)) is None) == seeds]
        if part and len(part) < len(held_out):
            a, u = _rates(part, 0.0)
            print(f"cv {label}, {len(part)} cases: answers {a:.1%}  abstention {u:.1%}")
            # What another threshold would trade: the abstainer's ability to separate,
            # which no threshold changes.
            print(f"cv {label}, threshold moved by: " + "  ".join(
                "{:+.1f}: {:.1%} / {:.1%}".format(t, *_rates(part, t))
                for t in TRADE_OFF))
    print(f"cv ranking: a right sentence first for {ranks.count(0) / len(ranks):.1%}, "
          f"in the top two for {sum(r < 2 for r in ranks) / len(ranks):.1%} of the "
          f"{len(ranks)} answerable cases that have one")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sets", type=Path, nargs="*")
    ap.add_argument("--cv", action="store_true")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", type=Path, nargs="*", default=[])
    ap.add_argument("--details", action="store_true",
                    help="with --cv: list the cases it gets wrong")
    ap.add_argument("--fitted", action="store_true",
                    help="with --check and no sets: measure qa/answer_model.json as it is")
    ap.add_argument("--folds", type=int, default=0,
                    help="with --cv: hold out N groups of sets in turn (set i in group i mod N) "
                    "instead of one set at a time: N fits instead of one per set")
    ap.add_argument("--drop", nargs="*", default=[], choices=FEATURES, metavar="FEATURE",
                    help="fit as if these features were always 0 (what a feature adds, by --cv)")
    ap.add_argument("--library", action="store_true",
                    help="ask every set in one library of all documents (bench/library.py), as "
                    "the benchmarks do, instead of each over its own document")
    ap.add_argument("--work", type=Path, default=None,
                    help="keep the indexes here, to reuse across runs")
    args = ap.parse_args()
    if bool(args.sets) == args.fitted:
        ap.error("give the sets to fit on, or --fitted to measure the shipped model")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = args.work or Path(tmp)
        engines = make_engines(scratch, placeholder_model(), args.library)
        cases = _without(collect(engines, args.sets), args.drop)
        if args.cv:
            cross_validate(cases, args.sets, args.folds, args.details)
        if args.fitted:
            model = AnswerModel.load()
        else:
            model = fit(cases, tuple(p.name for p in args.sets))
            a, u = measure(model, cases)
            print(f"fitted on all {len(cases)} cases: answers {a:.1%}  abstention {u:.1%}  "
                  f"(threshold {model.threshold:.2f})")
        if args.write:
            model.save()
            print("wrote qa/answer_model.json")
        checked: list[Case] = []
        for path in args.check:
            these = collect(engines, [path])
            checked += these
            a, u = measure(model, these)
            print(f"check {path}: answers {a:.1%}  abstention {u:.1%}")
        if len(args.check) > 1:
            a, u = measure(model, checked)
            print(f"check, all {len(checked)} cases of the {len(args.check)} sets: answers {a:.1%}"
                  f"  abstention {u:.1%}")


if __name__ == "__main__":
    main()

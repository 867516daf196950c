"""Does more non-news fitting data help the shipped features? Cross-validated in the library.

    python training/fit_mix.py $SETS --work /tmp/fitwork --cache /tmp/cases.pkl

Two measurements, both refitting the shipped ranker and abstainer (`calibrate.fit`) with 4 folds
of sets (set i in fold i mod 4, as `calibrate.py --cv --folds 4`), every set asked in the library
of all documents:
- `--mix`: fitted on the news sets only (as qa/offline/answer_model.json is), with `eval/genres`,
  and with `eval/genres` and `eval/genres2`; answers / abstention and how often a right sentence is
  ranked first, out of fold, per kind of document (the seed article, other news, the two genre
  folders);
- `--curve`: a learning curve on `eval/genres` alone: its sets in 4 folds, each fitted on the news
  sets plus 0, 3, 6 or 9 of the other genre sets (drawn at random, seed 0).
The cache is ranker_variants.py's (the same pickle serves both scripts and cross_encoder.py).
A fitting-set diagnostic: never run it on sealed sets.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibrate import _choices, _rates, fit, right_rank  # noqa: E402
from casesets import Case, kind, library_cases  # noqa: E402

KINDS = ("seed", "other", "genres", "genres2")
MIXES = {"news only (as shipped)": {"seed", "other"},
         "news + genres": {"seed", "other", "genres"},
         "news + genres + genres2": set(KINDS)}


def mix(cases: list[Case], sets: list[str], folds: int) -> None:
    for name, kinds in MIXES.items():
        raw, ranks = [], []
        for f in range(folds):
            held = set(sets[f::folds])
            model = fit([c for c in cases if c.source not in held and kind(c) in kinds])
            these = [c for c in cases if c.source in held]
            raw += _choices(model, these)
            ranks += [(kind(c), right_rank(model, c)) for c in these if c.right.any()]
        parts = []
        for k in KINDS:
            a, u = _rates([(c, ch) for c, ch in raw if kind(c) == k], 0.0)
            r = [x for kk, x in ranks if kk == k]
            parts.append(f"{k} {a:.1%} / {u:.1%}, first {r.count(0) / len(r):.1%}")
        print(f"{name}: " + " | ".join(parts), flush=True)


def curve(cases: list[Case], folds: int) -> None:
    genre = sorted({c.source for c in cases if kind(c) == "genres"})
    rng = np.random.default_rng(0)
    for k in (0, 3, 6, 9):
        raw, ranks = [], []
        for f in range(folds):
            held = genre[f::folds]
            rest = [g for g in genre if g not in held]
            use = set(rng.permutation(rest)[:k])
            model = fit([c for c in cases if kind(c) in ("seed", "other") or c.source in use])
            these = [c for c in cases if c.source in held]
            raw += _choices(model, these)
            ranks += [right_rank(model, c) for c in these if c.right.any()]
        a, u = _rates(raw, 0.0)
        print(f"{k} genre sets fitted on: held-out eval/genres {a:.1%} / {u:.1%}, "
              f"first {ranks.count(0) / len(ranks):.1%}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--work", type=Path, default=None, help="keep the library's index here")
    ap.add_argument("--cache", type=Path, default=None, help="the collected cases, pickled")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--mix", action="store_true")
    ap.add_argument("--curve", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = library_cases(args.sets, args.work or Path(tmp), args.cache)
    sets = [str(p) for p in args.sets]
    print(f"{len(cases)} cases of {len(sets)} sets")
    if args.mix or not args.curve:
        mix(cases, sets, args.folds)
    if args.curve:
        curve(cases, args.folds)


if __name__ == "__main__":
    main()

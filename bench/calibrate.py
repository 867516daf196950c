"""Calibrates the extractive answerer's abstention thresholds on a question set.

    python bench/calibrate.py eval/dev.jsonl [--check eval/heldout.jsonl]

For every case it records the best sentence's similarity and coverage (thresholds switched off),
then searches the thresholds that maximise balanced accuracy (answerable cases answered correctly,
unanswerable ones refused). Prints the best thresholds and, with --check, how they do on another set.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import qa.extractive as ex  # noqa: E402
from qa.api import Engine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import load_cases  # noqa: E402


def features(engine: Engine, path: Path) -> list[tuple[bool, bool, float, float, bool]]:
    """(answerable, best sentence matches the answers, similarity, coverage, names missing)"""
    saved = ex.MIN_SIMILARITY, ex.MIN_COVERAGE, ex.CONFIDENT_SIMILARITY
    ex.MIN_SIMILARITY, ex.MIN_COVERAGE, ex.CONFIDENT_SIMILARITY = -9.0, -9.0, -9.0
    rows = []
    try:
        for case in load_cases(path):
            q, history = case.turns[-1], case.turns[:-1]
            passages, query = engine.retrieve(q, history)
            p = ex.pick(q, history, passages, query.vectors[0], query.context_vector,
                        engine.vectors, engine._lexicon_now())
            text = " ".join(c.text for c in p.sentences).lower()
            right = case.answerable and all(any(a.lower() in text for a in g) for g in case.answers)
            rows.append((case.answerable, right, p.similarity, p.coverage, bool(p.missing)))
    finally:
        ex.MIN_SIMILARITY, ex.MIN_COVERAGE, ex.CONFIDENT_SIMILARITY = saved
    return rows


def score(rows, s_min, c_min, s_conf):  # type: ignore[no-untyped-def]
    ok_a = [r[1] and not r[4] and r[2] >= s_min and (r[3] >= c_min or r[2] >= s_conf)
            for r in rows if r[0]]
    ok_u = [r[4] or not (r[2] >= s_min and (r[3] >= c_min or r[2] >= s_conf))
            for r in rows if not r[0]]
    return sum(ok_a) / max(len(ok_a), 1), sum(ok_u) / max(len(ok_u), 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", type=Path)
    ap.add_argument("--check", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env().with_(index_dir=Path(tmp) / "index")
        engine = Engine.from_settings(settings)
        engine.refresh()
        rows = features(engine, args.cases)
        grid = itertools.product([x / 100 for x in range(10, 60, 2)],
                                 [x / 100 for x in range(0, 80, 4)],
                                 [x / 100 for x in range(40, 90, 4)])
        best = max(grid, key=lambda g: (min(score(rows, *g)) + sum(score(rows, *g)), -g[0]))
        current = (ex.MIN_SIMILARITY, ex.MIN_COVERAGE, ex.CONFIDENT_SIMILARITY)
        print(f"ceiling (best sentence right): "
              f"{sum(r[1] for r in rows if r[0])}/{sum(r[0] for r in rows)} answerable")
        print(f"current {current}: answered/abstained = {score(rows, *current)}")
        print(f"best    {best}: answered/abstained = {score(rows, *best)}")
        if args.check:
            other = features(engine, args.check)
            print(f"check {args.check}: current {score(other, *current)}, best {score(other, *best)}")
        if os.environ.get("QA_CALIBRATE_DUMP"):
            for r in rows:
                print(r)


if __name__ == "__main__":
    main()

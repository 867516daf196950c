"""How the reader model's raw P(yes) separates right sentences from the rest, to choose the
threshold at which a generated answer's sentence counts as stating the answer
(`qa.model.cite.ANSWERS`).

For each case of the sets (in the library of all documents, every 2nd case, as the reader's fit
reads them) the ranker's first candidate is judged (verdicts come from the fit's cache, so a rerun
is quick) and sorted into: a right sentence of an answerable question, a wrong one, or the first
candidate of an unanswerable question. Printed: the share of each kept at thresholds 0.1-0.5.

    QA_JUDGE=local .venv/bin/python training/judge_threshold.py eval/dev.jsonl eval/heldout.jsonl \\
        eval/other/{b1a1,b2a2,b3a3,b4a4,b5a1,b6a2}.jsonl eval/genres/*.jsonl --work /tmp/fitwork
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fit_judge  # noqa: E402  (training/fit_judge.py)

from qa.config import Settings  # noqa: E402
from qa.offline.answer_model import AnswerModel  # noqa: E402
from qa.offline.judge import judge_from_settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path(__file__).parent / "judge_cache.jsonl")
    ap.add_argument("--work", type=Path, default=None, help="keep the library's index here")
    args = ap.parse_args()
    model = AnswerModel.load()
    judge = judge_from_settings(Settings.from_env().with_(judge="local"))
    assert judge is not None
    with tempfile.TemporaryDirectory() as temporary:
        scratch = args.work or Path(temporary)
        library = scratch / "library"
        fit_judge.build_library(library)
        engines = fit_judge.Engines(scratch, model, library)
        cases = [c for path in args.sets for c in fit_judge.collect(engines, [path])[::args.every]]
        judged = fit_judge.judge_cases(cases, model, judge, 1, args.cache)
    right, wrong, unanswerable = [], [], []
    for j in judged:
        p = j.p_yes[0]
        if not j.case.case.answerable:
            unanswerable.append(p)
        else:
            (right if j.case.right[j.choice.ranked[0]] else wrong).append(p)
    print(f"{len(right)} right, {len(wrong)} wrong (answerable), {len(unanswerable)} unanswerable")
    print("| P(yes) at least | right kept | wrong kept | unanswerable kept |\n|---|---|---|---|")
    for t in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        kept = [np.mean(np.array(x) >= t) for x in (right, wrong, unanswerable)]
        print(f"| {t:.2f} | " + " | ".join(f"{k:.0%}" for k in kept) + " |")


if __name__ == "__main__":
    main()

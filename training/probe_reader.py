"""What the reader model can tell apart, on the fitting sets asked in the library:

    python training/probe_reader.py eval/dev.jsonl eval/heldout.jsonl eval/genres/*.jsonl \
        --every 3 --prompts prompts/judge.md training/judge_variants/specific.md \
        --work /tmp/fitwork

1. For each prompt file (placeholders {{question}}, {{context}}, {{sentence}}; a yes/no reply),
   the AUC of its P(yes) on the shipped ranker's first sentence: right sentences against the first
   sentence of unanswerable questions, and against every wrong first sentence.
2. With --rerank K: among answerable cases whose right sentence is in the ranker's first K, how
   often the best by the ranker's log-probability plus A times the reader's log-odds is right, for
   a grid of A (0: the ranker alone; large: the reader alone). Verdicts come from and go to
   --cache (shared with training/fit_judge.py).
A fitting-set probe: never run it on sealed sets.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from casesets import collect, make_engines  # noqa: E402
from fit_judge import judge_cases  # noqa: E402

from qa.config import Settings  # noqa: E402
from qa.offline.answer_model import AnswerModel, JudgeWeights  # noqa: E402
from qa.offline.extractive import choose, judge_pair, judged  # noqa: E402
from qa.offline.judge import LocalJudge, judge_from_settings  # noqa: E402

WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0, 100.0)


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a random positive scores above a random negative), ties counting half."""
    if not len(pos) or not len(neg):
        return float("nan")
    return float(((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean())


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # each line as it comes
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--prompts", nargs="*", type=Path, default=[])
    ap.add_argument("--rerank", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "qa-judge.jsonl")
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    model = AnswerModel.load()
    judge = judge_from_settings(Settings.from_env().with_(judge="local"))
    if not isinstance(judge, LocalJudge):
        sys.exit("the local reader model is not installed")
    with tempfile.TemporaryDirectory() as temporary:
        scratch = args.work or Path(temporary)
        engines = make_engines(scratch, model, library=True)
        cases = [c for path in args.sets for c in collect(engines, [path])[::args.every]
                 if c.analysis.candidates]
    firsts = [(c, choose(c.analysis, model).ranked[0]) for c in cases]
    label = np.array([(1 if c.right[r] else -1) if c.case.answerable else 0 for c, r in firsts])
    print(f"{len(cases)} cases: first sentence right {sum(label == 1)}, wrong {sum(label == -1)}, "
          f"unanswerable {sum(label == 0)}")
    with tempfile.TemporaryDirectory() as folder:
        prompts = Path(folder)
        for path in args.prompts:  # each file in place of prompts/judge.md, the same model
            (prompts / "judge.md").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
            probe = LocalJudge(judge._server, prompts, judge.name)  # noqa: SLF001
            p = np.array([probe.probabilities(c.analysis.question.asked,
                                              [judge_pair(c.analysis.candidates[r])])[0]
                          for c, r in firsts])
            print(f"{path}: AUC right vs unanswerable {auc(p[label == 1], p[label == 0]):.3f}, "
                  f"right vs every wrong first sentence {auc(p[label == 1], p[label != 1]):.3f}")
    if args.rerank:
        verdicts = judge_cases(cases, model, judge, args.rerank, args.cache)
        reachable = [j for j in verdicts if j.case.case.answerable
                     and any(j.case.right[r] for r in j.choice.ranked[:args.rerank])]
        for a in WEIGHTS:
            # the answerer's own combination (`judged`): only its choice of winner is read here
            weights = replace(model, judge=JudgeWeights(args.rerank, a, 0.0, 0.0, 0.0, 1.01,
                                                         judge.name))
            hit = sum(bool(j.case.right[judged(j.case.analysis, weights, j.choice,
                                               j.p_yes).rows[0]]) for j in reachable)
            print(f"rerank first {args.rerank}, reader weight {a:g}: right {hit}/{len(reachable)}"
                  f" = {hit / max(1, len(reachable)):.1%}")
        print(json.dumps({"answerable": sum(j.case.case.answerable for j in verdicts),
                          "reachable": len(reachable)}))


if __name__ == "__main__":
    main()

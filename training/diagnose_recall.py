"""Where the offline answerer loses the right sentence of answerable questions, stage by stage:

    python training/diagnose_recall.py eval/genres/*.jsonl --library --work /tmp/fitwork

For each answerable case (asked in the library of all documents with --library, else over its own
document): is a right sentence (one that holds every answer group, as `qa eval` scores) in
- the retrieved passages, at top_k = 5 (shipped), 10 and 20;
- the candidate sentences of the shipped passages, then the shortlist the ranker scores;
- the shipped ranker's first 1, 3 and 5.
A fitting-set diagnostic: run it on the sets the weights are fitted on, never on sealed sets.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from casesets import make_engines  # noqa: E402

from qa.evaluate import holds, load_cases  # noqa: E402
from qa.offline.answer_model import AnswerModel  # noqa: E402
from qa.offline.extractive import analyse, choose  # noqa: E402
from qa.offline.features import candidates  # noqa: E402

DEPTHS = (5, 10, 20)
RANKS = (1, 3, 5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--library", action="store_true")
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    model = AnswerModel.load()
    stages = [f"passages@{k}" for k in DEPTHS] + ["candidates", "shortlist"] + [
        f"ranked@{k}" for k in RANKS]
    hits = dict.fromkeys(stages, 0)
    n = 0
    with tempfile.TemporaryDirectory() as temporary:
        scratch = args.work or Path(temporary)
        engines = make_engines(scratch, model, args.library)
        for path in args.sets:
            engine = engines.for_set(path)
            for case in load_cases(path):
                if not case.answerable:
                    continue
                n += 1
                q, history = case.turns[-1], case.turns[:-1]
                shipped, query = engine.retrieve(q, history)
                for k in DEPTHS:
                    deeper = engine.retriever.retrieve(query.texts, query.vectors, top_k=k)
                    hits[f"passages@{k}"] += any(holds(p.chunk.text, case.answers)
                                                 for p in deeper)
                hits["candidates"] += any(holds(c.text, case.answers)
                                          for c in candidates(shipped))
                a = analyse(query.question, shipped, query.asked, query.vectors[0],
                            query.context_vector, engine.vectors, engine.lexicon())
                right = [holds(c.text, case.answers) for c in a.candidates]
                hits["shortlist"] += any(right)
                if a.candidates:
                    ranked = choose(a, model).ranked
                    for k in RANKS:
                        hits[f"ranked@{k}"] += any(right[r] for r in ranked[:k])
    print(f"{n} answerable cases")
    for s in stages:
        print(f"  {s:14s} {hits[s] / max(n, 1):6.1%}")


if __name__ == "__main__":
    main()

"""Issue 2 figures: answer quality on the question sets, fusion vs vector-only retrieval, warm
`answer()` latency, and the cold start of `qa ask`.

    .venv/bin/python bench/bench_answer.py            # prints a Markdown table for BENCHMARKS.md
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.api import Engine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import load_cases, run  # noqa: E402
from qa.retrieve import fuse  # noqa: E402

SETS = [ROOT / "eval" / "dev.jsonl", ROOT / "eval" / "heldout.jsonl"]


def retrieval_hits(engine: Engine, k: int) -> tuple[float, float, int]:
    """Share of answerable cases whose top-k passages contain the evidence: vector only, fused."""
    vec_hits = fused_hits = n = 0
    bm25 = engine.retriever.bm25()
    for path in SETS:
        for case in load_cases(path):
            if not case.answerable:
                continue
            n += 1
            _, query = engine.retrieve(case.turns[-1], case.turns[:-1])
            vector = [engine.retriever.vector_search(v, 20) for v in query.vectors]
            words = [bm25.search(t, 20) for t in query.texts]

            def hit(passages) -> bool:  # type: ignore[no-untyped-def]
                return any(ev in p.text for p in passages for ev in case.evidence)

            vec_hits += hit(fuse(vector, k))
            fused_hits += hit(fuse(vector + words, k))
    return vec_hits / n, fused_hits / n, n


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    seeds = tmp / "seeds"
    shutil.copytree(ROOT / "seeds", seeds)
    env = {**os.environ, "QA_SEEDS_DIR": str(seeds), "QA_INDEX_DIR": str(tmp / "index"),
           "QA_BACKEND": "extractive", "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    env.pop("OPENAI_API_KEY", None)
    settings = Settings.from_env(env)
    engine = Engine.from_settings(settings)
    engine.refresh()

    print("| set | cases | answer accuracy | citation hit rate | abstention accuracy | median words | exact quotes |")
    print("|---|---|---|---|---|---|---|")
    for path in SETS:
        s = run(load_cases(path), engine.answer, engine.source_text).summary()
        print(f"| {path.name} | {s['cases']} ({s['answerable']} answerable) | "
              f"{s['answer_accuracy']:.1%} | {s['citation_hit_rate']:.1%} | "
              f"{s['abstention_accuracy']:.1%} | {s['median_answer_words']} | "
              f"{s['exact_quote_share']:.1%} |")

    for k in (1, 3, 5):
        vec, fused, n = retrieval_hits(engine, k)
        print(f"\nretrieval, top-{k}, {n} answerable cases: vector only {vec:.1%}, "
              f"vector+BM25 fused {fused:.1%}")

    questions = [c.turns[-1] for c in load_cases(SETS[0])]
    for q in questions:
        engine.answer(q)  # warm: every sentence embedded once
    times = []
    for _ in range(3):
        for q in questions:
            t = time.perf_counter()
            engine.answer(q)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"\nwarm answer(): median {statistics.median(times):.1f} ms, "
          f"p95 {times[int(0.95 * len(times))]:.1f} ms over {len(times)} calls")

    cold = []
    for _ in range(5):
        t = time.perf_counter()
        out = subprocess.run([str(ROOT / ".venv" / "bin" / "qa"), "ask",
                              "Where did Putin propose holding the talks?"],
                             env=env, capture_output=True, text=True, check=True)
        cold.append(time.perf_counter() - t)
        assert "Istanbul" in out.stdout
    print(f"cold `qa ask` (new process, index built): median {statistics.median(cold):.2f} s, "
          f"min {min(cold):.2f} s, max {max(cold):.2f} s over {len(cold)} runs")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

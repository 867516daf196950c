"""Warm answers on an index built by bench_scale.py, with and without the stored sentence vectors
(issue 16), alternating question by question so both see the same machine load.

    .venv/bin/python bench/bench_warm_answers.py /tmp/qb   # after bench_scale.py --work /tmp/qb

Two engines on the same index (reader off): one answers with the vectors `qa index` stored, the
other embeds every candidate sentence and word with the model, as before. Each asks
bench_scale's 3 warm-up questions, then its 40 questions, each once (new to the caches); per
question also the model work left (texts and word pieces embedded while answering).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_scale import STDLIB_QUESTIONS, WARMUP, pct  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("work", type=Path, help="the --work folder of bench_scale.py")
    args = parser.parse_args()
    from qa.api import Engine
    from qa.config import Settings
    from qa.offline.features import SentenceVectors

    settings = Settings(seeds_dir=args.work / "corpus", index_dir=args.work / "ours-index",
                        judge="off")
    engines = {"stored": Engine.from_settings(settings), "model": Engine.from_settings(settings)}
    engines["model"].vectors = SentenceVectors(engines["model"].embedder)  # no store
    work = {k: {"texts": 0, "pieces": 0} for k in engines}
    for name, engine in engines.items():
        embed = engine.embedder.embed

        def counting(texts: list[str], name: str = name, embed=embed,  # type: ignore[no-untyped-def]
                     engine=engine):
            work[name]["texts"] += len(texts)
            work[name]["pieces"] += sum(engine.embedder.token_counts(texts))
            return embed(texts)

        engine.embedder.embed = counting  # type: ignore[method-assign]
        for q in WARMUP:
            engine.answer(q)
        work[name] = {"texts": 0, "pieces": 0}
    times: dict[str, list[float]] = {k: [] for k in engines}
    texts: dict[str, list[str]] = {k: [] for k in engines}
    for q in STDLIB_QUESTIONS:
        for name, engine in engines.items():
            t = time.perf_counter()
            a = engine.answer(q)
            times[name].append((time.perf_counter() - t) * 1000)
            texts[name].append(a.text)
    same = sum(a == b for a, b in zip(texts["stored"], texts["model"], strict=True))
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    for name in engines:
        n = len(times[name])
        print(f"{name}: p50 {pct(times[name], 0.5):.0f} ms, p95 {pct(times[name], 0.95):.0f} ms, "
              f"max {max(times[name]):.0f} ms; embedded per question {work[name]['texts'] / n:.1f} "
              f"texts, {work[name]['pieces'] / n:.0f} word pieces (besides the question's call)")
    print(f"identical answers: {same} of {len(STDLIB_QUESTIONS)}; load average at the end {load}")


if __name__ == "__main__":
    main()

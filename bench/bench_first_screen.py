"""Issue 17 figures: what the chat's first screen costs (titles and checked suggested questions),
worked out, then from the memory cache and from `index/suggestions.json` after a restart; and what
scoping a question to one document (`sources=[...]`) costs against asking everything.

    .venv/bin/python bench/bench_first_screen.py   # prints a Markdown table for BENCHMARKS.md

The library: the seed article and the 24 news articles of eval/other/*a1..a4 that are its first
six writers' first articles (b1a1 ... b6a4), in a temp folder with a fresh index.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QA_JUDGE", "off")
os.environ.setdefault("QA_BACKEND", "extractive")

from qa.api import Engine  # noqa: E402
from qa.app.suggest import Suggester  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import load_cases  # noqa: E402


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - start) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        shutil.copy(ROOT / "seeds" / "000_7383d27b375f9d56.txt", seeds)
        others = sorted((ROOT / "eval" / "other").glob("b?a?.txt"))
        for f in others:
            shutil.copy(f, seeds)
        settings = Settings.from_env().with_(seeds_dir=seeds, index_dir=Path(tmp) / "index")
        engine = Engine.from_settings(settings)
        engine.refresh()
        engine.answer("warm up the models")  # first-question costs are not the first screen's

        screen, cold = timed(Suggester(engine).first_screen)
        suggester = Suggester(engine)
        suggester.first_screen()
        _, memory = timed(suggester.first_screen)
        _, disk = timed(Suggester(engine).first_screen)

        whole, scoped = [], []
        for path in others[:6]:
            for case in load_cases(path.with_suffix(".jsonl"))[:10]:
                question = case.turns[-1]
                engine.answer(question)  # both ways once untimed: the sentence vectors are
                engine.answer(question, sources=[path.name])  # cached for both alike
                whole.append(timed(lambda q=question: engine.answer(q))[1])
                scoped.append(timed(lambda q=question, s=path.name: engine.answer(
                    q, sources=[s]))[1])

    print(f"library: {len(others) + 1} documents; {len(screen.suggestions)} suggestions shown:")
    for s in screen.suggestions:
        print(f"  - {s.question}  ({s.source})")
    print()
    print("| what | ms |")
    print("|---|---|")
    print(f"| first screen worked out (titles + candidates put to the answerer) | {cold:.0f} |")
    print(f"| first screen again, same index (memory cache) | {memory:.2f} |")
    print(f"| first screen after a restart (`index/suggestions.json`) | {disk:.1f} |")
    print(f"| answer, all documents: median of {len(whole)} | {statistics.median(whole):.0f} |")
    print(f"| answer, `sources=[its document]`: median of {len(scoped)} | "
          f"{statistics.median(scoped):.0f} |")


if __name__ == "__main__":
    main()

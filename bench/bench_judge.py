"""Issue 14 figures: the offline answerer with and without the reader model, in a library.

Every document we have (seeds/, eval/other, eval/sealed_docs, eval/genres, eval/sealed_genres)
is indexed together as one library; each question set is asked in it, so retrieval and the
answerer must find the right document among all of them. Per reader mode (QA_JUDGE off / local):
answers, abstention, exact quotes, median answer length, and the warm latency of `answer()` per
question (median, p95). The `cold` line times `qa ask` in a fresh process.

    .venv/bin/python bench/bench_judge.py                      # the sealed sets, both modes
    .venv/bin/python bench/bench_judge.py --judge off --sets eval/unseen_i.jsonl
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from library import build_library  # noqa: E402

from qa.api import Engine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import EvalReport, load_cases, run  # noqa: E402
from qa.offline.answer_model import AnswerModel  # noqa: E402
from qa.store.chroma import Store  # noqa: E402
from qa.store.embed import Embedder  # noqa: E402

SEALED = [ROOT / "eval" / "unseen_i.jsonl", ROOT / "eval" / "unseen_j.jsonl",
          *sorted((ROOT / "eval" / "sealed_genres").glob("*.jsonl"))]


def measure(engine: Engine, sets: list[Path]) -> tuple[dict[str, EvalReport], list[float]]:
    reports, seconds = {}, []

    def timed(question: str, history: list[str]):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = engine.answer(question, history)
        seconds.append(time.perf_counter() - started)
        return result

    for path in sets:
        reports[path.stem] = run(load_cases(path), timed, engine.source_text)
        r = reports[path.stem]
        print(f"  {path.stem}: {r.answer_accuracy:.1%} / {r.abstention_accuracy:.1%}",
              file=sys.stderr)
    return reports, seconds


def _row(name: str, reports: list[EvalReport], seconds: list[float] | None) -> str:
    results = [x for r in reports for x in r.results]
    total = EvalReport(results)
    lat = ""
    if seconds:
        ordered = sorted(seconds)
        lat = (f" | {statistics.median(ordered) * 1000:.0f} ms | "
               f"{ordered[int(0.95 * (len(ordered) - 1))] * 1000:.0f} ms")
    return (f"| {name} | {len(results)} | {total.answer_accuracy:.1%} | "
            f"{total.abstention_accuracy:.1%} | {total.exact_quote_share:.0%} | "
            f"{total.median_words:.0f}{lat} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--judge", choices=["off", "local", "both"], default="both")
    ap.add_argument("--sets", nargs="*", type=Path, default=SEALED)
    ap.add_argument("--cold", action="store_true", help="also time a cold `qa ask`")
    ap.add_argument("--answer-model", type=Path, default=None,
                    help="answer weights to use (e.g. refitted for QA_READER=qwen2.5-coder-0.5b "
                    "by training/fit_judge.py --out); default: the shipped ones")
    ap.add_argument("--work", type=Path, default=None,
                    help="keep the library and its index in this folder, to reuse across runs")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    modes = ["off", "local"] if args.judge == "both" else [args.judge]
    answer_model = AnswerModel.load(args.answer_model) if args.answer_model else None
    with tempfile.TemporaryDirectory() as temporary:
        scratch = str(args.work or temporary)
        seeds = Path(scratch) / "library"
        docs = build_library(seeds)
        base = Settings.from_env().with_(seeds_dir=seeds, index_dir=Path(scratch) / "index")
        embedder = Embedder()
        print(f"library: {docs} documents", file=sys.stderr)
        print("| reader | cases | answers | abstention | exact quotes | median words "
              "| median latency | p95 latency |")
        print("|---|---|---|---|---|---|---|---|")
        for mode in modes:
            settings = base.with_(judge=mode)
            engine = Engine(settings, Store.open(settings.index_dir, ""), embedder, answer_model)
            engine.refresh()
            engine.answer("What is this library about?")  # warm: model loaded, caches filled
            reports, seconds = measure(engine, args.sets)
            seed = [r for name, r in reports.items() if name.startswith("unseen")]
            genres = [r for name, r in reports.items() if not name.startswith("unseen")]
            name = "off" if mode == "off" else (engine.judge().name if engine.judge() else mode)
            if seed:
                names = ", ".join(n for n in reports if n.startswith("unseen"))
                print(_row(f"{name}: seed article ({names})", seed, None))
            if genres:
                folders = sorted({p.parent.name for p in args.sets
                                  if not p.stem.startswith("unseen")})
                print(_row(f"{name}: other genres ({', '.join(folders)}, {len(genres)} docs)",
                           genres, None))
            print(_row(f"{name}: all", list(reports.values()), seconds))
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"peak RSS so far: {peak:.0f} MB", file=sys.stderr)
        if args.cold:
            env = {**os.environ, "QA_SEEDS_DIR": str(ROOT / "seeds"),
                   "QA_INDEX_DIR": str(Path(scratch) / "cold-index")}
            subprocess.run([str(ROOT / ".venv" / "bin" / "qa"), "index"], env=env, check=True,
                           capture_output=True)
            for mode in modes:
                started = time.perf_counter()
                subprocess.run([str(ROOT / ".venv" / "bin" / "qa"), "ask",
                                "Where did Putin propose holding the talks?"],
                               env={**env, "QA_JUDGE": mode}, check=True, capture_output=True)
                print(f"cold qa ask, QA_JUDGE={mode}: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()

"""Peak memory of `qa chat` with the reader model (issue 14's bar: <= 2.5 GB).

Starts `qa chat` over the seed article with QA_JUDGE as given (default `local`: the 1.5B reader
loaded in the chat's process), asks the first 20 one-turn questions of `eval/dev.jsonl` through
its API (gradio_client), and reads the process's peak RSS (VmHWM) after start and at the end.
The model file is memory-mapped: its pages count in RSS once they are read.

    .venv/bin/python bench/bench_chat_memory.py                 # reader on
    .venv/bin/python bench/bench_chat_memory.py --judge off
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_scale import chat_memory, qa_env  # noqa: E402

QUESTIONS = ROOT / "eval" / "dev.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--judge", choices=["local", "off"], default="local")
    ap.add_argument("--questions", type=int, default=20)
    args = ap.parse_args()
    cases = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    questions = [c["turns"][-1] for c in cases if len(c["turns"]) == 1][: args.questions]
    with tempfile.TemporaryDirectory() as scratch:
        seeds = Path(scratch) / "seeds"
        shutil.copytree(ROOT / "seeds", seeds)
        env = qa_env(seeds, Path(scratch) / "index") | {"QA_JUDGE": args.judge}
        started = time.perf_counter()
        got = chat_memory(seeds, Path(scratch) / "index", questions, env)
    print(f"qa chat, QA_JUDGE={args.judge}: ready in {got['ready_s']:.1f} s, peak RSS "
          f"{got['peak_rss_after_start_mb']:.0f} MB after start, {got['peak_rss_mb']:.0f} MB after "
          f"{got['questions']} questions ({got['answered']} answered), "
          f"{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()

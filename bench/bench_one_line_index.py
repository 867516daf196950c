"""Issue 16: a text on one line indexes at the same chunks/s as the same text on many lines.

The same text (`bench_long_line.one_line_text`: the seed article's lines, numbered, joined) is
written twice, once on one line and once with one item per line, each into its own temp folder,
and `qa index` runs on each in a fresh process (imports, model and all): wall time, chunks and
chunks/s.

    .venv/bin/python bench/bench_one_line_index.py          # 2,000 KB
    .venv/bin/python bench/bench_one_line_index.py 420
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_long_line import one_line_text  # noqa: E402


def index(text: str, tmp: Path, name: str) -> tuple[float, int]:
    seeds = tmp / name / "seeds"
    seeds.mkdir(parents=True)
    (seeds / "long.txt").write_text(text, encoding="utf-8")
    env = {**os.environ, "QA_SEEDS_DIR": str(seeds), "QA_INDEX_DIR": str(tmp / name / "index"),
           "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "qa", "index"], env=env, cwd=tmp,
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    chunks = int(re.search(r"(\d+) chunk\(s\) embedded", done.stdout).group(1))  # type: ignore[union-attr]
    return seconds, chunks


def main(kb: int) -> None:
    line = one_line_text(kb)
    print(f"| {kb} KB text | qa index (s) | chunks | chunks/s |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as scratch:
        for label, text in (("one line", line), ("one item per line", line.replace(".) ", ".)\n"))):
            seconds, chunks = index(text, Path(scratch), label.replace(" ", "-"))
            print(f"| {label} | {seconds:.1f} | {chunks} | {chunks / seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)

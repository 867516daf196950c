"""Issue 16 on the CLI, in temp folders: each step runs `python -m qa` with a time limit and checks
the expected behaviour. Items 1 and 4 (links), 2 (one long line), 3 (corrupt index, rebuild),
9 (late NUL bytes, a newline in a name), 10 (run from another folder); 5 (a big file: progress
lines and peak memory) only with --big-mb, it takes long.

    .venv/bin/python bench/repro_issue16.py                 # the 420 KB one-line file of the bar
    .venv/bin/python bench/repro_issue16.py --kb 20         # a quick run
    .venv/bin/python bench/repro_issue16.py --big-mb 20     # also item 5 (many minutes)
    .venv/bin/python bench/repro_issue16.py --big-mb 20 --only-big   # item 5 alone
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_7383d27b375f9d56.txt"
sys.path.insert(0, str(ROOT))

from bench.bench_long_line import one_line_text  # noqa: E402


CPU = {"seconds": 0.0}  # user + system time of the last `qa` run (wait4): a busy machine
                       # stretches wall time, much less this


def qa(args: list[str], env: dict[str, str], cwd: Path, timeout: float
       ) -> tuple[int, str, str, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "qa", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    out, err = proc.communicate(timeout=timeout)  # reads both pipes, then reaps the process
    seconds = time.perf_counter() - t0
    CPU["seconds"] = _cpu_of_last_child()
    return proc.returncode, out, err, seconds


_CHILDREN = {"seconds": 0.0}


def _cpu_of_last_child() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    last, _CHILDREN["seconds"] = total - _CHILDREN["seconds"], total
    return last


def check(label: str, ok: bool, detail: str = "") -> bool:
    print(f"{'ok  ' if ok else 'FAIL'} {label}" + (f"  ({detail})" if detail else ""), flush=True)
    return ok


def big_file(mb: int, env: dict[str, str], tmp: Path) -> bool:
    """Item 5: `qa index` of one file of `mb` MB with normal lines (the seed article over and
    over, numbered): progress lines on a pipe, and the peak RSS of that one process (wait4)."""
    seeds = tmp / "big-seeds"
    seeds.mkdir()
    article = SEED.read_text(encoding="utf-8")
    with (seeds / "big.txt").open("w", encoding="utf-8") as f:
        part = 0
        while f.tell() < mb * 1024 * 1024:
            f.write(f"Part {part}.\n\n{article}\n")
            part += 1
    env = {**env, "QA_SEEDS_DIR": str(seeds), "QA_INDEX_DIR": str(tmp / "big-index")}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "qa", "index"], env=env, cwd=tmp,
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stderr is not None and proc.stdout is not None
    updates = 0
    for line in proc.stderr:
        if line.startswith("  progress: "):
            updates += 1
            print(f"     {line.strip()}", flush=True)
    summary = proc.stdout.read().strip()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    peak_gb = usage.ru_maxrss / 1024 / 1024  # KB on Linux
    return check(f"5: {mb} MB file: >= 3 progress lines, peak RSS <= 1.5 GB",
                 os.waitstatus_to_exitcode(status) == 0 and updates >= 3 and peak_gb <= 1.5,
                 f"{updates} progress lines, peak RSS {peak_gb:.2f} GB, {seconds:.0f} s; {summary}")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--kb", type=int, default=420, help="size of the one-line file (item 2)")
    p.add_argument("--big-mb", type=int, default=0, help="also index a file this big (item 5)")
    p.add_argument("--only-big", action="store_true", help="item 5 alone")
    a = p.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if a.only_big:
            env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
                   "ANONYMIZED_TELEMETRY": "False"}
            return 0 if big_file(a.big_mb or 20, env, tmp) else 1
        seeds, index = tmp / "seeds", tmp / "index"
        seeds.mkdir()
        (seeds / SEED.name).write_bytes(SEED.read_bytes())
        env = {**os.environ, "QA_SEEDS_DIR": str(seeds), "QA_INDEX_DIR": str(index),
               "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
        # items 1 and 4
        os.symlink(".", seeds / "a")
        os.symlink(".", seeds / "b")
        os.symlink("/usr", seeds / "u")
        os.symlink("/etc/passwd", seeds / "passwd.txt")
        rc, out, err, s = qa(["index"], env, tmp, 300)
        results.append(check("1: index with link loops finishes", rc == 0, f"{s:.1f} s"))
        results.append(check("4: the link to /etc/passwd is skipped with a warning naming it",
                             "warning: passwd.txt: a link to /etc/passwd" in err))
        rc, out, err, s = qa(["ask", "What is the shell of the root account?"], env, tmp, 300)
        results.append(check("4: the answer quotes nothing of /etc/passwd",
                             rc == 0 and "/bin/bash" not in out, f"{s:.1f} s"))
        # item 9
        (seeds / "late.txt").write_bytes(b"A plain sentence.\n" * 600 + b"\x00tail\n")
        (seeds / "two\nlines.txt").write_text("The lighthouse keeper's cat is called Marmalade.\n")
        rc, out, err, s = qa(["index"], env, tmp, 300)
        results.append(check("9: NUL bytes after 8 KB refuse the file",
                             "late.txt: looks like a binary file" in err))
        results.append(check("9: a newline in a name stays on one line",
                             "two\\nlines.txt" in err and "two\nlines" not in err))
        # item 2
        (seeds / "long.txt").write_text(one_line_text(a.kb), encoding="utf-8")
        rc, out, err, s = qa(["index"], env, tmp, 900)
        results.append(check(f"2: a {a.kb} KB one-line file indexes in <= 20 s", rc == 0 and s <= 20,
                             f"{s:.1f} s ({CPU['seconds']:.1f} s of CPU), {out.strip()}"))
        # item 3
        db = index / "chroma.sqlite3"
        os.truncate(db, db.stat().st_size // 3)
        rc, out, err, s = qa(["index", "--rebuild"], env, tmp, 900)
        aside = [q for q in tmp.iterdir() if q.name.startswith("index.old-")]
        results.append(check("3: --rebuild of a truncated index works and keeps the old one",
                             rc == 0 and len(aside) == 1 and (aside[0] / db.name).exists(),
                             err.strip().splitlines()[0] if err.strip() else ""))
        # item 10
        elsewhere = tmp / "elsewhere"
        elsewhere.mkdir()
        env10 = {k: v for k, v in env.items() if k not in ("QA_SEEDS_DIR", "QA_INDEX_DIR")}
        rc, out, err, s = qa(["ask", "Where did Putin propose holding the talks?"], env10,
                             elsewhere, 300)
        results.append(check("10: run from another folder: no ./index, the folder is named",
                             not (elsewhere / "index").exists() and "note: using" in err,
                             err.strip().splitlines()[0] if err.strip() else ""))
        # item 5
        if a.big_mb:
            results.append(big_file(a.big_mb, env, tmp))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

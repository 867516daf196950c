"""Issue 2: `qa index` killed with SIGKILL half way, then run again, gives a complete index with no
duplicate chunks."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _corpus(seeds: Path, files: int) -> None:
    article = next(seeds.glob("*.txt")).read_text(encoding="utf-8")
    sentences = [s for s in article.replace("\n", " ").split(". ") if s]
    rng = random.Random(7)
    for i in range(files):
        rng.shuffle(sentences)
        paragraphs = [". ".join(sentences[j : j + 4]) + "." for j in range(0, len(sentences), 4)]
        (seeds / f"report-{i:03d}.txt").write_text(
            f"Report {i}.\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def _qa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                          timeout=600)


def test_kill_during_index_then_rerun_is_complete(seeds_dir: Path, tmp_path: Path) -> None:
    _corpus(seeds_dir, 150)  # ~900 chunks: several commit batches
    proc = subprocess.Popen([sys.executable, "-m", "qa", "index"], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=os.environ.copy())
    assert proc.stderr is not None
    committed = 0
    for line in proc.stderr:  # wait until some, not all, files are committed
        if line.strip().startswith("indexed "):
            committed += 1
            if committed >= 3:
                break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL and committed >= 3

    again = _qa("index")
    assert again.returncode == 0, again.stderr
    redone = again.stderr.count("  indexed ")
    assert 0 < redone < 151  # it finished the rest, not everything again

    from qa.config import Settings
    from qa.store.chroma import Store

    store = Store.open(Settings.from_env().index_dir)
    chunks = store.all_chunks()
    keys = [(c.source, c.start, c.end) for c in chunks]
    assert len(keys) == len(set(keys)), "duplicate chunks"
    files = store.files()
    assert set(files) == {p.name for p in seeds_dir.iterdir()}
    by_source: dict[str, int] = {}
    for c in chunks:
        by_source[c.source] = by_source.get(c.source, 0) + 1
    assert by_source == {s: r.chunks for s, r in files.items()}

    third = _qa("index")
    assert third.returncode == 0 and "0 chunk(s) embedded" in third.stdout

"""Issue 16, item 2: a text that is one long line is split as fast, and into the same sentences, as
the same text one sentence per line (it used to be quadratic: 420 KB took 48 s). Figures:
`bench/bench_long_line.py`, in BENCHMARKS.md."""

from __future__ import annotations

import time
from pathlib import Path

from qa.sources.spans import sentence_spans

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_7383d27b375f9d56.txt"


def _one_line(kb: int) -> str:
    sentences = [s.strip() for s in SEED.read_text(encoding="utf-8").split("\n") if s.strip()]
    out, size, i = [], 0, 0
    while size < kb * 1024:
        s = f"{sentences[i % len(sentences)]} Mr. Smith of the U.S. said so (No. {i}.)"
        out.append(s)
        size += len(s) + 1
        i += 1
    return " ".join(out)


def test_one_line_splits_like_one_sentence_per_line() -> None:
    line = _one_line(20)
    per_line = line.replace(".) ", ".)\n")  # same length: every offset stays the same
    assert len(per_line) == len(line) and per_line.count("\n") > 50
    spans = [(s.start, s.end) for s in sentence_spans(line)]
    assert spans == [(s.start, s.end) for s in sentence_spans(per_line)]
    assert not any(line[a:b].startswith("Smith") for a, b in spans)  # "Mr." did not end one


def test_a_420_kb_line_splits_in_linear_time() -> None:
    text = _one_line(420)
    t0 = time.process_time()  # CPU time of this process: other load on the machine adds nothing
    spans = sentence_spans(text)
    seconds = time.process_time() - t0
    assert len(spans) > 3000
    assert seconds < 10, f"{seconds:.1f} s of CPU for 420 KB (about 0.2 s when linear, 48 s before)"

"""Issue 16, item 2: seconds to split and chunk a text that is one long line, against the same
text one sentence per line. Only the text steps are timed (reading, sentence splitting, chunking
with the real tokenizer), not embedding: they were the quadratic part.

    .venv/bin/python bench/bench_long_line.py              # 210 KB and 420 KB
    .venv/bin/python bench/bench_long_line.py 50 100       # other sizes, in KB
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.sources.ingest import chunk_source  # noqa: E402
from qa.sources.source_text import SourceText, sha256_bytes  # noqa: E402
from qa.sources.spans import sentence_spans  # noqa: E402
from qa.store.embed import Embedder  # noqa: E402

SEED = ROOT / "seeds" / "000_7383d27b375f9d56.txt"


def one_line_text(kb: int) -> str:
    """The seed article's sentences, numbered so that no two are equal, on one line."""
    sentences = [s.strip() for s in SEED.read_text(encoding="utf-8").split("\n") if s.strip()]
    out: list[str] = []
    size, i = 0, 0
    while size < kb * 1024:
        s = f"{sentences[i % len(sentences)]} (Item {i}.)"
        out.append(s)
        size += len(s) + 1
        i += 1
    return " ".join(out)


def timed(text: str, embedder: Embedder) -> tuple[float, float, int]:
    doc = SourceText(text=text, sha256=sha256_bytes(text.encode()))
    t0 = time.perf_counter()
    spans = sentence_spans(text)
    t1 = time.perf_counter()
    chunks = chunk_source("long.txt", doc, embedder.token_counts)
    t2 = time.perf_counter()
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert spans
    return t1 - t0, t2 - t1, len(chunks)


def main(sizes: list[int]) -> None:
    embedder = Embedder()
    print("| text | sentence split (s) | chunking incl. split (s) | chunks |")
    print("|---|---:|---:|---:|")
    for kb in sizes:
        line = one_line_text(kb)
        for label, text in ((f"{kb} KB, one line", line),
                            (f"{kb} KB, one sentence per line", line.replace(".) ", ".)\n"))):
            split, chunk, n = timed(text, embedder)
            print(f"| {label} | {split:.2f} | {chunk:.2f} | {n} |", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [210, 420])

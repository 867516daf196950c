"""The least time any indexer using this embedding model can take for the 420 KB one-line file of
issue 16 (bar: `qa index` in <= 20 s on 2 cores): the raw model alone, with nothing of `qa`.

Measured, each in a fresh process so imports count as they do for `qa index`:
1. starting Python and importing torch and sentence-transformers, and loading the model;
2. `SentenceTransformer.encode` of exactly the chunks `qa` makes of the file (same text, same
   word pieces), sorted by length, at batch 16 and 32 (the faster counts): the model's own
   throughput, with no reading, chunking or storing.
The sum is a floor for `qa index` of that file; `bench/repro_issue16.py` times the real thing.

    .venv/bin/python bench/bench_embed_floor.py          # ~1-2 min on 2 cores
    .venv/bin/python bench/bench_embed_floor.py --kb 210
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOAD = ("import time; t = time.perf_counter(); import torch, sentence_transformers; "
        "from qa.store.embed import bundled_model_path; "
        "sentence_transformers.SentenceTransformer(str(bundled_model_path()), device='cpu'); "
        "print(time.perf_counter() - t)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kb", type=int, default=420)
    args = ap.parse_args()

    t0 = time.perf_counter()
    inner = float(subprocess.run([sys.executable, "-c", LOAD], check=True, capture_output=True,
                                 text=True, cwd=ROOT).stdout.split()[-1])
    start = time.perf_counter() - t0

    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    from bench.bench_long_line import one_line_text
    from qa.sources.ingest import chunk_source
    from qa.sources.source_text import SourceText, sha256_bytes
    from qa.store.embed import Embedder, bundled_model_path

    text = one_line_text(args.kb)
    embedder = Embedder()
    chunks = chunk_source("long.txt", SourceText(text=text, sha256=sha256_bytes(text.encode())),
                          embedder.token_counts)
    texts = sorted((c.text for c in chunks), key=len)
    pieces = sum(embedder.token_counts(texts))
    model = SentenceTransformer(str(bundled_model_path()), device="cpu")
    best = None
    for batch in (16, 32):
        t = time.perf_counter()
        model.encode(texts, batch_size=batch, convert_to_numpy=True)
        seconds = time.perf_counter() - t
        print(f"encode at batch {batch}: {seconds:.1f} s ({pieces / seconds:,.0f} word pieces/s)")
        best = seconds if best is None else min(best, seconds)
    assert best is not None
    print(f"{args.kb} KB one-line file: {len(texts)} chunks, {pieces:,} word pieces; torch threads "
          f"{torch.get_num_threads()}")
    print(f"process start + imports + model load: {start:.1f} s (imports and load alone {inner:.1f} s)")
    print(f"floor for any indexer with this model: {start + best:.1f} s "
          f"(start {start:.1f} + embedding {best:.1f})")


if __name__ == "__main__":
    main()

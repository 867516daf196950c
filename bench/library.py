"""The library every quality benchmark asks in: all documents we have, indexed together, so the
answerer must find the right document among all of them (not one document at a time).
`bench/bench_model.py` asks in the 31 documents of the issue (`SEED_AND_OTHERS`)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = [ROOT / "seeds", *(ROOT / "eval" / name for name in (
    "other", "sealed_docs", "genres", "sealed_genres", "sealed_genres2", "sealed_genres3",
    "sealed_genres4"))]
# The seed article, the 24 articles of eval/other and the 6 of eval/sealed_docs: 31 documents.
SEED_AND_OTHERS = [ROOT / "seeds", ROOT / "eval" / "other", ROOT / "eval" / "sealed_docs"]


def build_library(folder: Path, sources: list[Path] | tuple[Path, ...] = tuple(LIBRARY)) -> int:
    """Copies every .txt of `sources` (default: every library document) into `folder`; returns
    how many."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for where in sources:
        for doc in sorted(where.glob("*.txt")):
            shutil.copy(doc, folder / doc.name)
            n += 1
    return n

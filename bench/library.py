"""The library every quality benchmark asks in: all documents we have, indexed together, so the
answerer must find the right document among all of them (not one document at a time)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = [ROOT / "seeds", *(ROOT / "eval" / name for name in (
    "other", "sealed_docs", "genres", "sealed_genres", "sealed_genres2"))]


def build_library(folder: Path) -> int:
    """Copies every library document into `folder`; returns how many."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for where in LIBRARY:
        for doc in sorted(where.glob("*.txt")):
            shutil.copy(doc, folder / doc.name)
            n += 1
    return n

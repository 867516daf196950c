"""The library every quality benchmark asks in: all documents we have, indexed together, so the
answerer must find the right document among all of them (not one document at a time).
`bench/bench_model.py` asks in the 31 documents of the issue (`SEED_AND_OTHERS`)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = [ROOT / "seeds", *(ROOT / "eval" / name for name in (
    "other", "sealed_docs", "genres", "genres2", "sealed_genres", "sealed_genres2",
    "sealed_genres3", "sealed_genres4"))]
# The seed article, the 24 articles of eval/other and the 6 of eval/sealed_docs: 31 documents.
SEED_AND_OTHERS = [ROOT / "seeds", ROOT / "eval" / "other", ROOT / "eval" / "sealed_docs"]


def build_library(folder: Path, sources: list[Path] | tuple[Path, ...] = tuple(LIBRARY)) -> int:
    """Copies every .txt of `sources` (default: every library document) into `folder`; returns
    how many. Two documents of the same name would silently become one (the later copy wins, and
    the earlier one's questions are asked of the wrong document): that is refused."""
    folder.mkdir(parents=True, exist_ok=True)
    origin: dict[str, Path] = {}
    for where in sources:
        for doc in sorted(where.glob("*.txt")):
            if doc.name in origin:
                raise ValueError(f"two library documents named {doc.name}: {origin[doc.name]} "
                                 f"and {doc}; rename one")
            origin[doc.name] = doc
    for name, doc in origin.items():
        shutil.copy(doc, folder / name)
    return len(origin)

"""A library of documents indexed together, for the benches that ask question sets in it: each
question must find its document among all of them, as a user's would.

    from library import SEED_AND_OTHERS, build_library   # (bench/ is on sys.path for its scripts)
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The seed article, the 24 articles of eval/other and the 6 of eval/sealed_docs: 31 documents.
SEED_AND_OTHERS = (ROOT / "seeds", ROOT / "eval" / "other", ROOT / "eval" / "sealed_docs")
# ...and the 12 + 8 documents of other genres (eval/genres, eval/sealed_genres): 51 documents.
EVERY_DOCUMENT = (*SEED_AND_OTHERS, ROOT / "eval" / "genres", ROOT / "eval" / "sealed_genres")


def build_library(folder: Path, sources: tuple[Path, ...] = EVERY_DOCUMENT) -> int:
    """Copy every .txt of `sources` into `folder` (made if missing); returns how many."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for where in sources:
        for doc in sorted(where.glob("*.txt")):
            shutil.copy(doc, folder / doc.name)
            n += 1
    return n

"""What every reader returns: a file's source text, the text that every offset in `qa` points
into. The lowest module of `qa.sources`: the readers of each format import it, and
`qa.sources.readers` chooses among them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SourceText:
    text: str
    sha256: str  # of the file's bytes
    page_starts: tuple[int, ...] = ()  # offsets where pages 2, 3, ... begin; empty: not paged
    warnings: tuple[str, ...] = field(default=())

    def page_of(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        return 1 + sum(1 for s in self.page_starts if s <= offset)


Reader = Callable[[Path, bytes], SourceText]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

"""Question -> ranked passages: vector search (Chroma) and BM25 over the same chunks, fused by
reciprocal rank fusion (Cormack et al. 2009: score = sum of 1 / (60 + rank) over the rankings).

BM25 uses `bm25s` with the Snowball English stemmer, the same engine llama-index's BM25Retriever
wraps; we call it directly so a query does not import llama-index (seconds of start-up). The BM25
index is built from the stored chunks once per index version and cached in memory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from qa.store.chroma import Store
from qa.types import Chunk, Passage

RRF_K = 60


@dataclass(frozen=True)
class Ranked:
    chunk: Chunk
    rank: int  # 0-based


class Bm25Index:
    """BM25 over a fixed list of chunks."""

    def __init__(self, chunks: list[Chunk]) -> None:
        import bm25s
        import Stemmer

        logging.getLogger("bm25s").setLevel(logging.ERROR)  # it logs progress at DEBUG+
        self.chunks = chunks
        self._stemmer = Stemmer.Stemmer("english")
        self._bm25 = bm25s.BM25()
        self._vocab: dict[str, int] = {}
        self._masks: dict[frozenset[str], np.ndarray] = {}
        if chunks:
            tokens = bm25s.tokenize([c.text for c in chunks], stopwords="en",
                                    stemmer=self._stemmer, show_progress=False)
            self._vocab = tokens.vocab
            self._bm25.index(tokens, show_progress=False)

    def search(self, query: str, n: int, sources: Collection[str] | None = None) -> list[Ranked]:
        """The `n` best chunks for `query`; with `sources`, only chunks of those files are
        ranked (the others score 0 before ranking, as Chroma's `where` leaves them out)."""
        import bm25s

        if not self.chunks:
            return []
        words = bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer,
                               return_ids=False, show_progress=False)[0]
        ids = [self._vocab[w] for w in words if w in self._vocab]
        if not ids:
            return []
        scores = self._bm25.get_scores(ids)
        if sources is not None:
            scores = np.where(self._mask(sources), scores, 0.0)
        order = np.argsort(-scores, kind="stable")[: min(n, len(self.chunks))]
        return [Ranked(self.chunks[i], r) for r, i in enumerate(order) if scores[i] > 0]

    def _mask(self, sources: Collection[str]) -> np.ndarray:
        """Per chunk, whether it belongs to one of `sources` (kept per scope: a chat asks many
        questions of one scope)."""
        key = frozenset(sources)
        mask = self._masks.get(key)
        if mask is None:
            mask = np.array([c.source in key for c in self.chunks], dtype=bool)
            if len(self._masks) > 64:
                self._masks.clear()
            self._masks[key] = mask
        return mask


class Retriever:
    def __init__(self, store: Store, top_k: int = 5) -> None:
        self.store = store
        self.top_k = top_k
        self._bm25: Bm25Index | None = None
        self._bm25_version = ""
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._bm25 = None

    def bm25(self) -> Bm25Index:
        version = self.store.fingerprint()
        with self._lock:
            if self._bm25 is None or version != self._bm25_version:
                self._bm25 = Bm25Index(self.store.all_chunks())
                self._bm25_version = version
            return self._bm25

    def retrieve(self, texts: Sequence[str], vectors: Sequence[np.ndarray],
                 top_k: int | None = None, bm25: Bm25Index | None = None,
                 sources: Collection[str] | None = None) -> list[Passage]:
        """Fuses one vector ranking per vector and one BM25 ranking per text; best first. `bm25`:
        the index to use if the caller already has the current one. `sources`: search only the
        chunks of these files (a metadata filter on both sides, so the `top_k` are all in scope);
        None searches everything."""
        k = top_k or self.top_k
        depth = max(3 * k, 20)
        rankings = [self.vector_search(v, depth, sources) for v in vectors]
        bm25 = bm25 if bm25 is not None else self.bm25()
        rankings += [bm25.search(t, depth, sources) for t in texts]
        return fuse(rankings, k)

    def vector_search(self, vector: np.ndarray, n: int,
                      sources: Collection[str] | None = None) -> list[Ranked]:
        return [Ranked(c, r) for r, (c, _sim) in enumerate(self.store.query(vector, n, sources))]


def fuse(rankings: Sequence[Sequence[Ranked]], k: int) -> list[Passage]:
    """Reciprocal rank fusion; ties broken by the first ranking's order."""
    scores: dict[str, float] = {}
    chunks: dict[str, Chunk] = {}
    for ranking in rankings:
        for r in ranking:
            scores[r.chunk.id] = scores.get(r.chunk.id, 0.0) + 1.0 / (RRF_K + r.rank + 1)
            chunks[r.chunk.id] = r.chunk
    best = sorted(scores, key=lambda i: -scores[i])[:k]
    return [Passage(chunks[i], scores[i]) for i in best]

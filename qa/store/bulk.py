"""How indexing embeds: NumPy for a few texts, ONNX Runtime for many, torch when ONNX Runtime
cannot be prepared. All three give the same vectors (to ~1e-7) as the NumPy embedder that embeds
the questions (`qa.store.embed`, `qa.store.onnx_embed`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import ConfigError
from qa.store.embed import BulkEmbedder, Embedder
from qa.store.onnx_embed import OnnxEmbedder

log = logging.getLogger(__name__)

BULK_THRESHOLD = 256  # texts; below it, preparing a bulk embedder costs more than it saves


class TextEmbedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


def embed_for_indexing(embedder: Embedder, texts: list[str],
                       bulk: list[TextEmbedder] | None = None,
                       model_dir: Path | None = None) -> np.ndarray:
    """Embeds with NumPy for small jobs and, for large ones, with ONNX Runtime (the model
    exported once into `model_dir`, `qa.store.onnx_embed`), or torch when that cannot be
    prepared (same vectors to ~1e-7). `bulk` is a one-slot cache so a long run prepares it once."""
    if len(texts) < BULK_THRESHOLD:
        return embedder.embed(texts)
    if bulk is None:
        bulk = []
    if not bulk:
        bulk.append(_bulk_embedder(embedder, model_dir))
    return bulk[0].embed(texts)


def _bulk_embedder(embedder: Embedder, model_dir: Path | None) -> TextEmbedder:
    if model_dir is not None:
        try:
            return OnnxEmbedder.load(model_dir, embedder)
        except ConfigError as exc:
            log.warning("%s; indexing with torch instead (slower to start)", exc)
    return BulkEmbedder()

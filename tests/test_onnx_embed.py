"""Indexing embeds with ONNX Runtime: the bundled model exported once into the model cache, the
same vectors as the NumPy embedder that embeds the questions; a broken cached file is made again,
and where none can be made, indexing falls back to torch with a warning (issue 16: `qa index`
of a 420 KB file)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.store.bulk import BULK_THRESHOLD, embed_for_indexing
from qa.store.embed import BulkEmbedder, Embedder
from qa.store.onnx_embed import OnnxEmbedder, onnx_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def _texts(seeds_dir: Path) -> list[str]:
    article = next(seeds_dir.glob("*.txt")).read_text(encoding="utf-8")
    sentences = [s.strip() for s in article.replace("\n", " ").split(". ") if s.strip()]
    words = article.split()[:40]
    # sentences, single words, and a text past the model's 256 word pieces (truncated alike)
    texts = sentences + words + [article]
    return (texts * (BULK_THRESHOLD // len(texts) + 1))[: BULK_THRESHOLD + 10]


def test_indexing_vectors_equal_the_question_vectors(embedder: Embedder, seeds_dir: Path,
                                                     tmp_path: Path) -> None:
    texts = _texts(seeds_dir)
    bulk: list = []
    got = embed_for_indexing(embedder, texts, bulk, tmp_path / "models")
    assert isinstance(bulk[0], OnnxEmbedder)
    assert onnx_model(tmp_path / "models").exists()
    want = embedder.embed(texts)
    assert got.shape == want.shape == (len(texts), 384)
    assert np.abs(got - want).max() < 1e-5
    # the file is made once: a second embedder opens it
    made = onnx_model(tmp_path / "models").stat().st_mtime_ns
    again = OnnxEmbedder.load(tmp_path / "models", embedder).embed(texts[:5])
    assert np.abs(again - want[:5]).max() < 1e-5
    assert onnx_model(tmp_path / "models").stat().st_mtime_ns == made


def test_a_broken_cached_model_is_moved_aside_and_made_again(embedder: Embedder,
                                                             tmp_path: Path) -> None:
    path = onnx_model(tmp_path)
    path.write_bytes(path.read_bytes()[:100_000])  # a truncated copy
    model = OnnxEmbedder.load(tmp_path, embedder)
    assert path.with_name(path.name + ".broken").exists()
    text = ["The backup job runs every night at 01:30."]
    assert np.abs(model.embed(text) - embedder.embed(text)).max() < 1e-5


def test_without_a_writable_cache_indexing_falls_back_to_torch(
        embedder: Embedder, seeds_dir: Path, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    texts = _texts(seeds_dir)
    bulk: list = []
    with caplog.at_level(logging.WARNING):
        got = embed_for_indexing(embedder, texts, bulk, blocker / "models")
    assert isinstance(bulk[0], BulkEmbedder)
    assert "set QA_MODEL_DIR to a writable folder; indexing with torch instead" in caplog.text
    assert np.abs(got - embedder.embed(texts)).max() < 1e-5


def test_qa_index_says_when_it_prepares_the_model_and_not_again(
        seeds_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-time export pauses a first big `qa index` for ~10 s before any progress line: the
    command says why, once; the next run that needs it opens the made file silently."""
    article = next(seeds_dir.glob("*.txt")).read_text(encoding="utf-8")
    sentences = [s for s in article.replace("\n", " ").split(". ") if s]
    for i in range(6):  # enough chunks and sentences for one batch past BULK_THRESHOLD
        (seeds_dir / f"copy-{i}.txt").write_text(
            f"Copy {i}.\n\n" + "\n\n".join(f"{s} ({i}-{j})." for j, s in enumerate(sentences)),
            encoding="utf-8")
    monkeypatch.setenv("QA_MODEL_DIR", str(tmp_path / "models"))

    def index(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "qa", "index", *args], capture_output=True,
                              text=True, timeout=900)

    first = index()
    assert first.returncode == 0, first.stderr
    notes = [line for line in first.stderr.splitlines() if "preparing the embedding model" in line]
    assert len(notes) == 1 and notes[0].startswith("note: "), first.stderr
    assert list((tmp_path / "models").glob("*.onnx"))  # made by the command, kept
    again = index("--rebuild")
    assert again.returncode == 0, again.stderr
    assert "preparing the embedding model" not in again.stderr

"""`qa index` killed with SIGKILL half way, then run again, gives a complete index with no
duplicate chunks (issue 2: many files); within one big file, the rerun resumes from the stored
batches and ends with the index a clean run makes, and nothing of the half-stored file is ever
searched (issue 16)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _corpus(seeds: Path, files: int) -> None:
    article = next(seeds.glob("*.txt")).read_text(encoding="utf-8")
    sentences = [s for s in article.replace("\n", " ").split(". ") if s]
    rng = random.Random(7)
    for i in range(files):
        rng.shuffle(sentences)
        paragraphs = [". ".join(sentences[j : j + 4]) + "." for j in range(0, len(sentences), 4)]
        (seeds / f"report-{i:03d}.txt").write_text(
            f"Report {i}.\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def _qa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                          timeout=1800)


def test_kill_during_index_then_rerun_is_complete(seeds_dir: Path, tmp_path: Path) -> None:
    _corpus(seeds_dir, 150)  # ~900 chunks: several commit batches
    proc = subprocess.Popen([sys.executable, "-m", "qa", "index"], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=os.environ.copy())
    assert proc.stderr is not None
    committed = 0
    for line in proc.stderr:  # wait until some, not all, files are committed
        if line.strip().startswith("indexed "):
            committed += 1
            if committed >= 3:
                break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL and committed >= 3

    again = _qa("index")
    assert again.returncode == 0, again.stderr
    redone = again.stderr.count("  indexed ")
    assert 0 < redone < 151  # it finished the rest, not everything again

    from qa.config import Settings
    from qa.store.chroma import Store

    store = Store.open(Settings.from_env().index_dir)
    chunks = store.all_chunks()
    keys = [(c.source, c.start, c.end) for c in chunks]
    assert len(keys) == len(set(keys)), "duplicate chunks"
    files = store.files()
    assert set(files) == {p.name for p in seeds_dir.iterdir()}
    by_source: dict[str, int] = {}
    for c in chunks:
        by_source[c.source] = by_source.get(c.source, 0) + 1
    assert by_source == {s: r.chunks for s, r in files.items()}

    third = _qa("index")
    assert third.returncode == 0 and "0 chunk(s) embedded" in third.stdout


def _big_file(seeds: Path, repeats: int) -> Path:
    """One file with normal lines that takes several batches (the seed article, numbered)."""
    article = next(seeds.glob("*.txt")).read_text(encoding="utf-8")
    big = seeds / "big.txt"
    with big.open("w", encoding="utf-8") as f:
        for i in range(repeats):
            f.write(f"Part {i}.\n\n{article}\n")
    return big


def _sentences_of(index_dir: Path):  # type: ignore[no-untyped-def]
    """(text key, source, sha256) -> vector of every stored sentence."""
    import numpy as np

    from qa.store.sentences import SentenceStore

    store = SentenceStore.open(index_dir)
    try:
        with store._lock:
            rows = store._db.execute("SELECT key, source, sha256, vector FROM sentences").fetchall()
        return {(k, s, h): np.frombuffer(v, dtype=np.float32) for k, s, h, v in rows}
    finally:
        store.close()


def _chunks_of(index_dir: Path) -> dict[str, tuple[str, dict, list[float]]]:
    """id -> (text, metadata, embedding) of every chunk, read with Chroma itself."""
    import chromadb
    from chromadb.api.client import SharedSystemClient
    from chromadb.config import Settings as ChromaSettings

    # Chroma caches one client per folder in a process: this one opened the index before the
    # rerun (another process) wrote to it, so its cached view is stale
    SharedSystemClient.clear_system_cache()
    client = chromadb.PersistentClient(path=str(index_dir),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    got = client.get_collection("qa_chunks").get(include=["documents", "metadatas", "embeddings"])
    return {i: (d, m, list(e)) for i, d, m, e in zip(
        got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)}


def test_kill_during_a_big_file_then_rerun_resumes_to_the_clean_index(
        seeds_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _big_file(seeds_dir, 250)  # ~1,250 chunks: three batches of one file
    proc = subprocess.Popen([sys.executable, "-m", "qa", "index"], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=os.environ.copy())
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # a progress line comes after a stored batch: then kill
        seen.append(line)
        if line.startswith("  progress: "):
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    assert "of 2 file(s)" in seen[-1] and "chunks/s" in seen[-1], seen[-1]

    from qa.config import Settings
    from qa.store.chroma import Store
    from qa.store.embed import Embedder
    from qa.store.retrieve import Retriever

    # killed half way: some of big.txt's chunks are stored, it is not committed, and no search
    # sees them (the seed article, committed in the first batch, is searched as usual)
    settings = Settings.from_env()
    store = Store.open(settings.index_dir)
    view = store.view()
    assert set(store.files()) == {"000_7383d27b375f9d56.txt"} and "big.txt" in view.pending
    stored_before = store.count()
    assert 5 < stored_before < 1000
    question = "Where did Putin propose holding the talks?"
    passages = Retriever(store, 20).retrieve([question], [Embedder().embed_one(question)])
    assert passages and {p.chunk.source for p in passages} == {"000_7383d27b375f9d56.txt"}

    again = _qa("index")
    assert again.returncode == 0, again.stderr
    assert "  indexed big.txt (" in again.stderr and "Loading weights" not in again.stderr
    resumed = int(again.stdout.split("embedded (")[1].split(" found")[0])
    assert resumed == stored_before - 5  # the stored chunks of big.txt were not embedded again

    clean_dir = tmp_path / "clean-index"
    monkeypatch.setenv("QA_INDEX_DIR", str(clean_dir))
    clean = _qa("index")
    assert clean.returncode == 0, clean.stderr
    resumed_index, clean_index = _chunks_of(settings.index_dir), _chunks_of(clean_dir)
    assert resumed_index.keys() == clean_index.keys()
    for i, (text, meta, vector) in clean_index.items():
        r_text, r_meta, r_vector = resumed_index[i]
        assert (r_text, r_meta) == (text, meta)
        assert max(abs(a - b) for a, b in zip(r_vector, vector, strict=True)) < 1e-4
    # the sentence vectors too: each stored once, none lost, the same as a clean run's
    resumed_sentences = _sentences_of(settings.index_dir)
    clean_sentences = _sentences_of(clean_dir)
    assert resumed_sentences.keys() == clean_sentences.keys() and len(clean_sentences) > 15
    assert max(float(abs(resumed_sentences[k] - v).max())
               for k, v in clean_sentences.items()) < 1e-4
    reopened = Store.open(settings.index_dir)
    assert reopened.view().pending == {}
    assert {s: r.chunks for s, r in reopened.files().items()} == \
        {s: r.chunks for s, r in Store.open(clean_dir).files().items()}

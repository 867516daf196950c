"""A file (or library) of more chunks than SQLite binds variables (32,766) is read and swept in
pages: Chroma binds one variable per row a `get` returns, so one read of a 38,885-chunk file
failed with "too many SQL variables" after its last batch was stored (issue 16, the 20 MB file).
A real embedded Chroma; the vectors are random (what is tested is the store, not the model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.store.chroma import FileRecord, Store
from qa.types import Chunk

pytestmark = pytest.mark.slow

N = 33_000  # above SQLite's 32,766


def _chunks(sha: str, start: int, n: int) -> list[Chunk]:
    return [Chunk(id=f"{sha[:4]}-{i}", source="big.txt", start=i, end=i + 1, text=f"w{i}",
                  sha256=sha) for i in range(start, start + n)]


def test_a_file_of_more_chunks_than_sqlite_variables(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "index")
    old, new = "a" * 64, "b" * 64
    rng = np.random.default_rng(0)
    store.begin_file("big.txt", old)
    for a in range(0, N, 3000):
        chunks = _chunks(old, a, min(3000, N - a))
        store.add_chunks(chunks, rng.standard_normal((len(chunks), 384)).astype(np.float32))
    store.commit_files([FileRecord("big.txt", old, N)])

    assert store.count() == N
    assert len(store.stored_ids([f"aaaa-{i}" for i in range(N)])) == N
    got = store.chunks_of("big.txt", old)
    assert len(got) == N and len({c.id for c in got}) == N
    assert {c.text for c in got} == {f"w{i}" for i in range(N)}
    assert len(store.all_chunks()) == N
    assert store.sweep() == 0  # every chunk accounted for

    # an orphan (a killed run's chunk of a version no record names) is found among them all
    store.add_chunks(_chunks("c" * 64, 0, 1), np.ones((1, 384), dtype=np.float32))
    assert store.sweep() == 1 and store.count() == N

    # a new version of the file replaces all of the old one's chunks when it is committed
    store.begin_file("big.txt", new)
    store.add_chunks(_chunks(new, 0, 10), rng.standard_normal((10, 384)).astype(np.float32))
    store.commit_files([FileRecord("big.txt", new, 10)])
    assert store.count() == 10
    assert {c.sha256 for c in store.all_chunks()} == {new}

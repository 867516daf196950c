"""Keeps the index in step with seeds/: new and changed files are chunked and embedded, unchanged
files are left alone (nothing re-embedded), deleted files' chunks are removed.

Safe to kill at any point (even kill -9): for each file the old version's chunks are deleted first,
then the new chunks are added under deterministic ids, and only then is the file's record committed.
A run after a kill finds the file uncommitted and finishes it; no chunk is ever duplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.errors import SourceError
from qa.sources.ingest import SeedFile, chunk_source, discover, file_sha256
from qa.sources.planted import find_instructions
from qa.sources.readers import read_source
from qa.store.chroma import FileRecord, Store
from qa.types import IndexReport

log = logging.getLogger(__name__)

EmbedFn = Callable[[list[str]], np.ndarray]
TokenCounter = Callable[[list[str]], list[int]]
BATCH_CHUNKS = 512  # chunks embedded and stored per step (bounds memory on large corpora)


@dataclass
class Plan:
    """What an update has to do; computed cheaply (hashes only) so a query can check staleness."""

    changed: list[tuple[SeedFile, str]] = field(default_factory=list)  # file, its sha256
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return bool(self.changed or self.removed)


def plan(store: Store, seeds_dir: Path) -> Plan:
    files, warnings = discover(seeds_dir)
    indexed = store.files()
    result = Plan(warnings=warnings)
    for f in files:
        try:
            sha = file_sha256(f.path)
        except OSError as exc:
            result.warnings.append(f"{f.source}: cannot be read ({exc.strerror}); skipped")
            continue
        record = indexed.get(f.source)
        if record and record.sha256 == sha:
            result.unchanged += 1
        else:
            result.changed.append((f, sha))
    present = {f.source for f in files}
    result.removed = sorted(s for s in indexed if s not in present)
    return result


def update(store: Store, seeds_dir: Path, embed: EmbedFn, count_tokens: TokenCounter,
           todo: Plan | None = None, on_commit: Callable[[str, int], None] | None = None
           ) -> IndexReport:
    """Brings the index in line with `seeds_dir`. Unreadable files are skipped with a warning and
    keep whatever was indexed for them before; nothing else is lost. `on_commit(source, chunks)`
    is called as each file is committed (progress)."""
    todo = todo or plan(store, seeds_dir)
    warnings = list(todo.warnings)
    indexed = skipped = embedded = 0
    for source in todo.removed:
        store.forget_file(source)
    pending: list[tuple[str, FileRecord, list]] = []  # chunks not yet embedded, by file

    def flush() -> int:
        chunks = [c for _, _, cs in pending for c in cs]
        vectors = embed([c.text for c in chunks])
        # One Chroma call per step for the whole batch of files, not three per file: a corpus of
        # many small files otherwise spends more time in per-call overhead than in storing. The
        # order keeps a kill -9 safe: stale chunks go, new chunks are stored, then the records.
        store.delete_stale_chunks({record.source: record.sha256 for _, record, _ in pending})
        store.add_chunks(chunks, vectors)
        store.commit_files([record for _, record, _ in pending])
        if on_commit:
            for source, _, cs in pending:
                on_commit(source, len(cs))
        pending.clear()
        return len(chunks)

    for seed, _sha in todo.changed:
        try:
            doc = read_source(seed.path, seed.source)
        except SourceError as exc:
            warnings.append(str(exc))
            skipped += 1
            continue
        warnings.extend(doc.warnings)
        chunks = chunk_source(seed.source, doc, count_tokens)
        planted = sorted({c.line + c.text.count("\n", 0, i.start)
                          for c in chunks if c.planted_instructions
                          for i in find_instructions(c.text)})
        if planted:
            warnings.append(f"{seed.source}: line {', '.join(map(str, planted[:5]))} addresses the "
                            "assistant or the reader with instructions; kept and flagged: an answer "
                            "that repeats it carries a warning")
        pending.append((seed.source, FileRecord(seed.source, doc.sha256, len(chunks)), chunks))
        indexed += 1
        if sum(len(cs) for _, _, cs in pending) >= BATCH_CHUNKS:
            embedded += flush()
    embedded += flush()
    if todo.removed or todo.changed:
        _sweep_orphans(store)
    for w in warnings:
        log.warning(w)
    return IndexReport(
        files_seen=len(todo.changed) + todo.unchanged,
        files_indexed=indexed,
        files_unchanged=todo.unchanged,
        files_removed=len(todo.removed),
        files_skipped=skipped,
        chunks_embedded=embedded,
        chunks_total=store.count(),
        warnings=tuple(warnings),
    )


def _sweep_orphans(store: Store) -> None:
    """Chunks of a file that has no committed record (a run killed mid-file, then the file was
    deleted) are removed."""
    known = set(store.files())
    for source in store.chunk_sources() - known:
        store.delete_chunks(source)

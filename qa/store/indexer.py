"""Keeps the index in step with seeds/: new and changed files are chunked and embedded, unchanged
files are left alone (nothing re-embedded), deleted files' chunks are removed.

Files are read, chunked, embedded and stored as a stream, BATCH_CHUNKS chunks at a time, so memory
is bounded by a batch, not by the biggest file, and a 20 MB file shows progress as it goes.

Safe to kill at any point (even kill -9), and a kill loses at most one batch:
- a file's record (`qa_files`) is written only once all its chunks are stored; until then its new
  chunks are invisible to searches (`IndexView`), and its previous version, if any, stays visible;
- a file that takes more than one batch first gets a *pending* record, so that searches leave its
  chunks out in the query itself;
- chunk ids are derived from the file's content and the chunk's offsets, so a rerun chunks the
  file the same way, finds the chunks stored before the kill (`Store.stored_ids`), embeds only
  the rest, and then commits the file: the index is the one a clean run makes;
- chunks that nothing accounts for any more (a killed run's, of a file since changed or deleted)
  are swept at the end of a run.

With `sentence_texts` (what the answerer will embed of a chunk: its sentences, pronoun resolved),
each batch also embeds those texts, in the same model call as the chunks, and stores their
vectors (`qa.store.sentences`) before the chunks: a rerun after a kill looks each text up first
and embeds only what is missing. Files indexed before sentence vectors were kept get theirs from
the stored chunks at the end of a run (`_upgrade`), also a batch at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.errors import SourceError
from qa.sources.ingest import SeedFile, discover, file_sha256, iter_chunks
from qa.sources.planted import find_instructions
from qa.sources.readers import read_source
from qa.store.chroma import FileRecord, Store
from qa.store.sentences import ChunkTexts
from qa.types import Chunk, IndexProgress, IndexReport

log = logging.getLogger(__name__)

EmbedFn = Callable[[list[str]], np.ndarray]
SentenceTexts = Callable[[Chunk], ChunkTexts]  # the texts of a chunk the answerer embeds
TokenCounter = Callable[[list[str]], list[int]]
ProgressFn = Callable[[IndexProgress], None]
BATCH_CHUNKS = 512  # chunks embedded and stored per step: bounds memory and what a kill loses


@dataclass
class Plan:
    """What an update has to do; computed cheaply (hashes only) so a query can check staleness."""

    changed: list[tuple[SeedFile, str]] = field(default_factory=list)  # file, its sha256
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    present: set[str] = field(default_factory=set)  # every file of seeds/ that qa reads

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
    result.present = {f.source for f in files}
    result.removed = sorted(s for s in indexed if s not in result.present)
    return result


def update(store: Store, seeds_dir: Path, embed: EmbedFn, count_tokens: TokenCounter,
           todo: Plan | None = None, on_progress: ProgressFn | None = None,
           sentence_texts: SentenceTexts | None = None) -> IndexReport:
    """Brings the index in line with `seeds_dir`. Unreadable files are skipped with a warning and
    keep whatever was indexed for them before; nothing else is lost. `on_progress` is called
    after every stored batch and every committed file. `sentence_texts`: store the vectors of
    these texts of every chunk in `store.sentences` (None: no sentence vectors)."""
    todo = todo or plan(store, seeds_dir)
    warnings = list(todo.warnings)
    indexed = skipped = 0
    for source in todo.removed:
        store.forget_file(source)
    texts_of = sentence_texts if store.sentences is not None else None
    run = _Run(store, embed, on_progress, [_size(seed.path) for seed, _ in todo.changed],
               texts_of)
    run.report("")  # the totals, before the first batch
    for seed, _sha in todo.changed:
        try:
            doc = read_source(seed.path, seed.source)
        except SourceError as exc:
            warnings.append(str(exc))
            skipped += 1
            run.skip(_size(seed.path))
            continue
        warnings.extend(doc.warnings)
        f = run.open(seed.source, doc.sha256, _size(seed.path), len(doc.text))
        planted: set[int] = set()
        for chunk in iter_chunks(seed.source, doc, count_tokens):
            if chunk.planted_instructions:
                planted.update(chunk.line + chunk.text.count("\n", 0, i.start)
                               for i in find_instructions(chunk.text))
            run.add(f, chunk)
        run.close(f)
        if planted:
            lines = ", ".join(map(str, sorted(planted)[:5]))
            warnings.append(f"{seed.source}: line {lines} addresses the assistant or the reader "
                            "with instructions; kept and flagged: an answer that repeats it "
                            "carries a warning")
        indexed += 1
    run.flush()
    # a killed run's pending record of a file that is gone since: nothing will finish it
    store.forget_pending([s for s in store.view().pending if s not in todo.present])
    if todo.stale or store.count() != sum(r.chunks for r in store.files().values()):
        store.sweep()
    upgraded = _upgrade(run, seeds_dir) if texts_of is not None else 0
    for w in warnings:
        log.warning(w)
    return IndexReport(
        files_seen=len(todo.changed) + todo.unchanged,
        files_indexed=indexed,
        files_unchanged=todo.unchanged,
        files_removed=len(todo.removed),
        files_skipped=skipped,
        chunks_embedded=run.embedded,
        chunks_total=store.count(),
        warnings=tuple(warnings),
        chunks_resumed=run.resumed,
        sentences_embedded=run.sentences_embedded,
        words_embedded=run.words_embedded,
        files_upgraded=upgraded,
    )


def _upgrade(run: _Run, seeds_dir: Path) -> int:
    """Stores the sentence vectors of committed files that have none yet (indexed before they
    were kept, or their sentence file was of another format), a batch of chunks at a time; each
    file is marked complete once all are in, and counts in the run's progress. Returns how many
    files it did."""
    store, sentences = run.store, run.store.sentences
    assert sentences is not None
    complete = sentences.complete()
    todo = {s: r.sha256 for s, r in store.files().items() if complete.get(s) != r.sha256}
    if not todo:
        return 0
    log.info("storing sentence vectors for %d file(s) indexed by an older qa", len(todo))
    sizes = {s: _size(seeds_dir / s) for s in todo}
    run.files_total += len(todo)
    run.bytes_total += sum(sizes.values())
    for source, sha in sorted(todo.items()):
        chunks = store.chunks_of(source, sha)
        for a in range(0, len(chunks), BATCH_CHUNKS):
            run.store_sentences(chunks[a : a + BATCH_CHUNKS], [])
        sentences.commit({source: sha})
        run.files_done += 1
        run.bytes_done += sizes[source]
        run.chunks_done += len(chunks)
        run.report(source)
    return len(todo)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclass
class _File:
    """A file of this run: stored a batch at a time, committed once all its chunks are in."""

    source: str
    sha256: str
    size: int  # bytes, for progress
    length: int  # characters of its text
    chunks: int = 0
    stored_to: int = 0  # characters whose chunks are stored
    chunked: bool = False  # all its chunks made (some may still wait in the batch)
    pending: bool = False  # a pending record was written for it


class _Run:
    """One update's batches: chunks wait here until BATCH_CHUNKS of them are embedded and stored
    together; files whose chunks are all stored are committed together."""

    def __init__(self, store: Store, embed: EmbedFn, on_progress: ProgressFn | None,
                 sizes: list[int], sentence_texts: SentenceTexts | None = None) -> None:
        self.store, self.embed, self.on_progress = store, embed, on_progress
        self.sentence_texts = sentence_texts
        self.sentences_embedded = self.words_embedded = 0
        self.batch: list[tuple[_File, Chunk]] = []
        self.files: list[_File] = []  # opened, not committed yet
        self.files_total, self.files_done = len(sizes), 0
        self.bytes_total, self.bytes_done = sum(sizes), 0
        self.embedded = self.resumed = self.chunks_done = 0
        self.started = time.monotonic()

    def open(self, source: str, sha256: str, size: int, length: int) -> _File:
        f = _File(source, sha256, size, max(length, 1))
        self.files.append(f)
        return f

    def add(self, f: _File, chunk: Chunk) -> None:
        f.chunks += 1
        self.batch.append((f, chunk))
        if len(self.batch) >= BATCH_CHUNKS:
            self.flush()

    def close(self, f: _File) -> None:
        f.chunked = True

    def skip(self, size: int) -> None:
        self.files_done += 1
        self.bytes_done += size

    def flush(self) -> None:
        """Stores the batch, then commits every file whose chunks are now all stored; then tells
        `on_progress` (so that what it reports is stored)."""
        current = ""
        if self.batch:
            for f in {id(f): f for f, _ in self.batch if not f.chunked and not f.pending}.values():
                self.store.begin_file(f.source, f.sha256)  # it spans batches: hide it meanwhile
                f.pending = True
            chunks = [c for _, c in self.batch]
            stored = self.store.stored_ids([c.id for c in chunks])
            new = [c for c in chunks if c.id not in stored]  # after a kill: only the rest
            self.store.add_chunks(new, self.store_sentences(chunks, new))
            self.embedded += len(new)
            self.resumed += len(chunks) - len(new)
            self.chunks_done += len(chunks)
            for f, c in self.batch:
                f.stored_to = max(f.stored_to, c.end)
            current = self.batch[-1][0].source
            self.batch.clear()
        ready = [f for f in self.files if f.chunked]
        if ready:
            self.store.commit_files([FileRecord(f.source, f.sha256, f.chunks) for f in ready])
            self.files = [f for f in self.files if not f.chunked]
        for f in ready:
            self.files_done += 1
            self.bytes_done += f.size
            self.report(f.source, f)
        if current:
            self.report(current)

    def store_sentences(self, chunks: list[Chunk], new: list[Chunk]) -> np.ndarray:
        """Embeds the texts of `new` and the sentence texts of `chunks` not stored yet, in one
        model call; stores the sentence vectors (each file version gets its rows, copied when
        another file has the same sentence). Returns the vectors of `new`."""
        if self.sentence_texts is None or self.store.sentences is None:
            return self.embed([c.text for c in new])
        rows, words = [], []
        for c in chunks:
            texts = self.sentence_texts(c)
            rows += [(c.source, c.sha256, t) for t in texts.sentences]
            words += texts.words
        words = list(dict.fromkeys(words))
        known = self.store.sentences.lookup([t for _, _, t in rows] + words)
        missing = list(dict.fromkeys(t for _, _, t in rows if t not in known))
        new_words = [w for w in words if w not in known and w not in missing]
        vectors = self.embed([c.text for c in new] + missing + new_words)
        known.update(zip(missing + new_words, vectors[len(new):], strict=True))
        self.store.sentences.add(((s, h, t, known[t]) for s, h, t in rows),
                                 ((w, known[w]) for w in new_words))
        self.sentences_embedded += len(missing)
        self.words_embedded += len(new_words)
        return vectors[: len(new)]

    def report(self, source: str, committed: _File | None = None) -> None:
        if self.on_progress is None:
            return
        partial = sum(f.size * min(1.0, f.stored_to / f.length) for f in self.files)
        self.on_progress(IndexProgress(
            files_done=self.files_done, files_total=self.files_total,
            chunks_done=self.chunks_done, bytes_done=self.bytes_done + int(partial),
            bytes_total=self.bytes_total, seconds=time.monotonic() - self.started, file=source,
            committed=committed is not None,
            file_chunks=committed.chunks if committed is not None else 0))

"""Keeps the index up to date with seeds/: before a question (a cheap stat of the folder first), on
request (`qa index`), or in a background thread that questions do not wait for (the chat).

`IndexKeeper` owns what an update replaces: the store, the retriever over it and the cache of
sentence vectors. `qa.api.Engine` asks it for them on every question and answers from whatever
is indexed so far while an update runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from qa.config import Settings
from qa.errors import IndexError_, NoDocumentsError, QAError, SourceError
from qa.offline.features import SentenceVectors, stored_texts
from qa.sources.walk import walk
from qa.store.bulk import TextEmbedder, embed_for_indexing
from qa.store.chroma import Store
from qa.store.embed import Embedder
from qa.store.indexer import Plan, plan, update
from qa.store.retrieve import Retriever
from qa.types import IndexProgress, IndexReport

__all__ = ["IndexKeeper", "progress_words", "stat_seeds"]

log = logging.getLogger(__name__)


class IndexKeeper:
    """The index of one seeds/ folder and the updates that keep it current. Thread-safe: one
    update at a time (`_index_lock`); questions read the store meanwhile."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder,
                 notes: list[str] | None = None) -> None:
        """`notes`: said once, in the next `refresh()` report (where an old index was moved)."""
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = Retriever(store, settings.top_k)
        self.vectors = SentenceVectors(embedder, store.sentences)
        self._notes = list(notes or [])
        self._seen_files: tuple | None = None  # file signatures of seeds/ at the last check
        self._index_lock = threading.Lock()
        self._bulk: list[TextEmbedder] = []
        self._indexing: IndexProgress | None = None  # the running update's latest progress
        self._wait: float | None = None  # see `update_in_background`
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._last_update: IndexReport | QAError | None = None
        self._requested = 0  # start_update(again=True) calls: the worker serves the latest
        self._empty = False  # no chunks in the index, as of the last look at seeds/

    def refresh(self, rebuild: bool = False,
                on_progress: Callable[[IndexProgress], None] | None = None) -> IndexReport:
        """Brings the index up to date with seeds/ (incremental; `rebuild` starts from empty).
        `on_progress` is told after every stored batch and every committed file."""
        with self._index_lock:
            if rebuild:
                self.store.close()
                self.store, note = Store.rebuild(self.settings.index_dir, self.settings.chroma_url)
                self.retriever = Retriever(self.store, self.settings.top_k)
                self.vectors = SentenceVectors(self.embedder, self.store.sentences)
                self._notes.append(note)
            seen = stat_seeds(self.settings.seeds_dir)
            report = self._update(None, on_progress)
            self._seen_files = seen
            self._empty = report.chunks_total == 0
            notes, self._notes = tuple(n for n in self._notes if n), []
            if notes:
                report = IndexReport(**{**report.__dict__, "warnings": (*notes, *report.warnings)})
            return report

    def ensure(self) -> IndexReport | None:
        """Updates the index if seeds/ changed since the last look (a cheap stat check first).
        After `update_in_background`, the update runs in a thread of its own and this waits for
        it only that long. Raises when there is nothing to answer from."""
        seen = stat_seeds(self.settings.seeds_dir)
        report = None
        if seen != self._seen_files:
            if self._wait is None:
                with self._index_lock:
                    report = self._update_if_stale(seen)
            else:
                self.start_update(seen).join(self._wait)
        if self._empty:  # also when nothing changed since: the chat says so on every question
            progress = self._indexing
            if progress is not None:
                raise SourceError(f"the documents are being indexed ({progress_words(progress)}): "
                                  "ask again in a moment")
            raise NoDocumentsError(f"no documents are indexed: put .txt or .md files in "
                                   f"{self.settings.seeds_dir} (or set QA_SEEDS_DIR)")
        return report

    def update_in_background(self, wait_seconds: float) -> None:
        """From now on, updates run off the request path: a question that finds seeds/ changed
        starts the update in a thread and waits at most `wait_seconds` for it."""
        self._wait = wait_seconds

    def start_update(self, seen: tuple | None = None, again: bool = False) -> threading.Thread:
        """Starts bringing the index up to date in a background thread, or returns the one that
        is already doing it; `again`: that one then makes one more pass, for changes it may have
        missed (a file saved after it looked). Progress: `indexing()`."""
        with self._worker_lock:
            if again:
                self._requested += 1
            if self._worker is None or not self._worker.is_alive():
                self._indexing = IndexProgress(0, 0, 0, 0, 0, 0.0)
                self._worker = threading.Thread(target=self._update_in_thread, args=(seen,),
                                                name="qa-index", daemon=True)
                self._worker.start()
            return self._worker

    def indexing(self) -> IndexProgress | None:
        """The running update's progress, or None when the index is not being updated."""
        return self._indexing

    def last_update(self) -> IndexReport | QAError | None:
        """What the last background update did, or the error that stopped it."""
        return self._last_update

    def _update_in_thread(self, seen: tuple | None) -> None:
        try:
            with self._index_lock:
                served = -1
                while served != self._requested:
                    served = self._requested
                    seen = seen or stat_seeds(self.settings.seeds_dir)
                    report = self._update(None)
                    self._seen_files, seen = seen, None
                    self._empty = report.chunks_total == 0
                    self._last_update = report
        except QAError as exc:
            self._last_update = exc
            self._seen_files = None  # the next question tries again (and says what is wrong)
        except Exception:  # a thread has no caller to tell: the log, and the next question
            log.exception("updating the index failed")
            self._last_update = IndexError_("updating the index failed; the details are in "
                                            "the server log")
            self._seen_files = None
        finally:
            self._indexing = None

    def _update_if_stale(self, seen: tuple) -> IndexReport | None:
        todo = plan(self.store, self.settings.seeds_dir)
        report = self._update(todo) if todo.stale else None
        self._seen_files = seen
        self._empty = self.store.count() == 0
        return report

    def _update(self, todo: Plan | None,
                on_progress: Callable[[IndexProgress], None] | None = None) -> IndexReport:
        def progress(p: IndexProgress) -> None:
            self._indexing = p
            if on_progress:
                on_progress(p)

        try:
            return update(self.store, self.settings.seeds_dir, self._embed_for_index,
                          self.embedder.token_counts, todo, on_progress=progress,
                          sentence_texts=stored_texts)
        finally:
            if self._worker is None or threading.current_thread() is not self._worker:
                self._indexing = None

    def _embed_for_index(self, texts: list[str]):  # type: ignore[no-untyped-def]
        return embed_for_indexing(self.embedder, texts, self._bulk, self.settings.model_dir)


def progress_words(p: IndexProgress) -> str:
    """`1 of 3 files, 42%` (`starting` before the first batch)."""
    if not p.files_total:
        return "starting"
    return f"{p.files_done} of {p.files_total} files, {p.fraction:.0%}"


def stat_seeds(seeds_dir: Path) -> tuple:
    """(source, size, mtime_ns, ctime_ns, inode) of every file under seeds/, walked as indexing
    walks it (no folder links followed, so a link loop cannot hang a question). Runs before every
    question; ctime and inode catch an edit that puts size and mtime back (`touch -d`)."""
    return tuple(e.signature for e in walk(seeds_dir)[0])

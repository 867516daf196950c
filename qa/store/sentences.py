"""Vectors of source sentences, computed when their chunks are indexed and kept beside the index.

The offline answerer compares the question with every candidate sentence of the retrieved passages
(`qa.offline.features.SentenceVectors`). In a large library those sentences are new to nearly
every question, and embedding them was most of an answer's time. The indexer embeds them once,
with the chunks, and stores them here: `index/qa-sentences.sqlite3`, one row per (sentence text,
file version), the text's key a 16-byte BLAKE2b digest of it, the vector 384 float32.

- A vector is a function of its text alone, so a stored vector is never wrong, whatever happened
  to the index since: the answerer looks texts up here and embeds whatever is missing (an index
  built before this file existed simply has none of them).
- Rows belong to a file version (source, sha256), like chunks: a removed file's rows are deleted
  with its chunks, a changed file's old rows once its new version is committed, and rows that no
  file accounts for (a killed run's) with `sweep`.
- The content words of those sentences are stored too (the answerer compares the question's words
  with the words of its likeliest sentences, by meaning: "parse" ~ "parsing"), once each, in a
  table of their own: a vocabulary shared by all files (~15,000 words, ~23 MB at 10,000 chunks),
  kept until `qa index --rebuild`.
- `files` records the file versions whose sentences are all stored. An index from before this
  file, or a file whose format token (`FORMAT`, in sqlite's user_version) is not this one, is
  filled in by the next `qa index` (see `qa.store.indexer.update`).

Thread-safe (one connection behind a lock); several processes may share the file (WAL mode).
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IndexError_

FILE = "qa-sentences.sqlite3"
# Which texts are stored and how: bump it when that changes (e.g. `stored_texts` changes what
# the answerer embeds); a file with another token is emptied and refilled by the next `qa index`.
FORMAT = 1
DIMENSIONS = 384
_PARAMS = 500  # texts per look-up statement (sqlite's limit of host parameters is 32766)


@dataclass(frozen=True)
class ChunkTexts:
    """What the answerer will embed of one chunk whenever it is retrieved."""

    sentences: list[str]  # its candidate sentences, as the answerer reads them
    words: list[str]  # their content words


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class SentenceStore:
    """Sentence vectors of the indexed file versions. Build one with `SentenceStore.open`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30,
                                       isolation_level=None)  # transactions are explicit
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self.upgraded = self._schema()
        except sqlite3.Error as exc:
            raise IndexError_(f"{path} cannot be read ({exc}): run `qa index --rebuild`") from None

    @classmethod
    def open(cls, index_dir: Path) -> SentenceStore:
        index_dir.mkdir(parents=True, exist_ok=True)
        return cls(index_dir / FILE)

    def _schema(self) -> bool:
        """Creates the tables; empties a file of another FORMAT. True if it was emptied."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        stale = version not in (0, FORMAT)
        with self._write():
            if stale:
                self._db.execute("DROP TABLE IF EXISTS sentences")
                self._db.execute("DROP TABLE IF EXISTS files")
                self._db.execute("DROP TABLE IF EXISTS words")
            self._db.execute("CREATE TABLE IF NOT EXISTS sentences (key BLOB NOT NULL, "
                             "source TEXT NOT NULL, sha256 TEXT NOT NULL, vector BLOB NOT NULL, "
                             "PRIMARY KEY (key, source, sha256))")
            self._db.execute("CREATE INDEX IF NOT EXISTS sentences_file "
                             "ON sentences (source, sha256)")
            self._db.execute("CREATE TABLE IF NOT EXISTS files (source TEXT PRIMARY KEY, "
                             "sha256 TEXT NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS words (key BLOB PRIMARY KEY, "
                             "vector BLOB NOT NULL)")
            self._db.execute(f"PRAGMA user_version = {FORMAT}")
        return stale

    @contextlib.contextmanager
    def _write(self):  # type: ignore[no-untyped-def]
        """One transaction, under the lock: all of it is stored or none (a kill in between)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- reading -------------------------------------------------------------------------------
    def lookup(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of `texts` that have one (a sentence of any file, or a
        word)."""
        keys = {text_key(t): t for t in dict.fromkeys(texts)}
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for table in ("sentences", "words"):
                items = [k for k, t in keys.items() if t not in found]
                for a in range(0, len(items), _PARAMS):
                    part = items[a : a + _PARAMS]
                    rows = self._db.execute(
                        f"SELECT key, vector FROM {table} WHERE key IN "
                        f"({','.join('?' * len(part))})", part).fetchall()
                    for key, blob in rows:
                        found[keys[key]] = np.frombuffer(blob, dtype=np.float32)
        return found

    def complete(self) -> dict[str, str]:
        """source -> sha256 of the file versions whose sentences are all stored."""
        with self._lock:
            return dict(self._db.execute("SELECT source, sha256 FROM files").fetchall())

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM sentences").fetchone()[0])

    # --- writing -------------------------------------------------------------------------------
    def add(self, rows: Iterable[tuple[str, str, str, np.ndarray]],
            words: Iterable[tuple[str, np.ndarray]] = ()) -> None:
        """Stores (source, sha256, text, vector) sentence rows and (word, vector) rows in one
        transaction; a row already stored is left as it is."""
        data = [(text_key(t), s, h, np.asarray(v, dtype=np.float32).tobytes())
                for s, h, t, v in rows]
        vocabulary = [(text_key(w), np.asarray(v, dtype=np.float32).tobytes()) for w, v in words]
        if not data and not vocabulary:
            return
        with self._write():
            self._db.executemany("INSERT OR IGNORE INTO sentences VALUES (?, ?, ?, ?)", data)
            self._db.executemany("INSERT OR IGNORE INTO words VALUES (?, ?)", vocabulary)

    def commit(self, versions: dict[str, str]) -> None:
        """Marks these file versions (source -> sha256) complete and deletes the rows of their
        other versions (called once their chunks are committed)."""
        if not versions:
            return
        with self._write():
            for source, sha in versions.items():
                self._db.execute("DELETE FROM sentences WHERE source = ? AND sha256 != ?",
                                 (source, sha))
                self._db.execute("INSERT OR REPLACE INTO files VALUES (?, ?)", (source, sha))

    def forget(self, source: str) -> None:
        with self._write():
            self._db.execute("DELETE FROM sentences WHERE source = ?", (source,))
            self._db.execute("DELETE FROM files WHERE source = ?", (source,))

    def sweep(self, live: dict[str, str], pending: dict[str, str]) -> int:
        """Deletes the rows of file versions that are neither committed (`live`) nor being
        stored (`pending`): a killed run's, of a file since changed or removed. Returns how many."""
        keep = set(live.items()) | set(pending.items())
        with self._lock:
            versions = self._db.execute("SELECT DISTINCT source, sha256 FROM sentences").fetchall()
        gone = [v for v in versions if tuple(v) not in keep]
        done = [(s, h) for s, h in self.complete().items() if live.get(s) != h]
        if not gone and not done:
            return 0
        with self._write():
            before = self._db.total_changes
            self._db.executemany("DELETE FROM sentences WHERE source = ? AND sha256 = ?", gone)
            removed = self._db.total_changes - before
            self._db.executemany("DELETE FROM files WHERE source = ? AND sha256 = ?", done)
        return removed

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()

"""The index: two Chroma collections, embedded under index/ or on a Chroma server.

- `qa_chunks`: one record per chunk, with its embedding (always computed by `qa`, never by Chroma)
  and metadata source/start/end/line/page/sha256 (and `planted_instructions: true` on a chunk
  flagged at ingest; absent, as in indexes written before the flag, it reads as unflagged). Written through llama-index's ChromaVectorStore,
  so the collection is also a valid llama-index vector store.
- `qa_files`: one record per indexed file (source -> sha256, chunk count). A file's record is written
  only after all its chunks are stored: it is the commit marker that makes indexing safe to kill.
  A chunk is *visible* (retrieved, quoted) only when its source's record has its sha256: the
  chunks of a file still being indexed, or left by a killed run, are never seen as if complete,
  and the previous version of a changed file stays visible until the new one is committed. A big
  file is stored in batches; while it is, a *pending* record (source -> the new sha256) lets
  searches leave its chunks out in the query itself (`IndexView`).
  One more record, `qa-index-version`, holds a token that every write changes: `fingerprint()`
  reads it, so checking per question whether the index changed costs one small read, whatever
  the number of files, and notices writes by other processes on the same Chroma server.

Beside them, `qa.store.sentences` keeps the vectors of the chunks' sentences (a sqlite file in
index/): `Store.sentences`. Its rows follow the file records: they go when a file is forgotten,
when a newer version is committed, or when `sweep` finds them unaccounted for.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import shutil
import time
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexError_, StoreError
from qa.store.sentences import SentenceStore
from qa.types import Chunk

FORMAT = 1  # bump when the stored layout changes; older indexes then ask for `qa index --rebuild`
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
MARKER = "qa-index.json"
CHUNKS = "qa_chunks"
FILES = "qa_files"
PAGE = 5000  # rows per Chroma read: SQLite binds one variable per row, at most 32,766
VERSION_ID = "qa-index-version"  # a record in qa_files whose token changes with every write
_COLLECTION_META = {"hnsw:space": "cosine", "qa_format": FORMAT, "qa_embedding": EMBEDDING_MODEL}


@dataclass(frozen=True)
class FileRecord:
    source: str
    sha256: str
    chunks: int


@dataclass(frozen=True)
class IndexView:
    """Which chunks a search may see: those of committed file versions."""

    committed: dict[str, str]  # source -> sha256 of its committed version
    pending: dict[str, str]  # source -> sha256 of a version being stored (not visible)

    def visible(self, chunk: Chunk) -> bool:
        return self.committed.get(chunk.source) == chunk.sha256

    @property
    def updating(self) -> bool:
        """True while some file's new version is being stored (or a run storing it was killed)."""
        return bool(self.pending)


class Store:
    """Reads and writes the index. Build one with `Store.open(settings)`."""

    def __init__(self, client: Any, location: str,
                 sentences: SentenceStore | None = None) -> None:
        """`sentences`: where the chunks' sentence vectors are kept (None: not kept)."""
        self.location = location
        self.sentences = sentences
        self._client = client
        try:
            self._chunks = client.get_or_create_collection(
                CHUNKS, metadata=_COLLECTION_META, embedding_function=None)
            self._files = client.get_or_create_collection(
                FILES, metadata={"qa_format": FORMAT}, embedding_function=None)
        except Exception as exc:
            raise _wrap(exc, location) from None
        fmt = (self._chunks.metadata or {}).get("qa_format")
        if fmt != FORMAT:
            raise IndexError_(f"the index at {location} was built by another version of qa "
                              f"(format {fmt}, this is {FORMAT}): run `qa index --rebuild`")
        if not self._call(self._files.get, ids=[VERSION_ID], include=[])["ids"]:
            self._bump_version()  # indexes from before the version record: add it once

    # --- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, index_dir: Path, chroma_url: str = "") -> Store:
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if chroma_url:  # nothing local: sentence vectors are not kept (computed per question)
            return cls(_http_client(chroma_url, chroma_settings), chroma_url)
        _check_marker(index_dir)
        try:
            client = chromadb.PersistentClient(path=str(index_dir), settings=chroma_settings)
        except Exception as exc:
            raise _wrap(exc, str(index_dir)) from None
        _write_marker(index_dir)
        return cls(client, str(index_dir), SentenceStore.open(index_dir))

    @classmethod
    def rebuild(cls, index_dir: Path, chroma_url: str = "") -> tuple[Store, str]:
        """An empty index in place of the old one; the returned note says what became of it.

        An embedded index is never opened first (it may be corrupt, foreign or half-written) and
        never deleted: the whole folder is moved aside to `index.old-<time>` (the chat's kept
        `removed/` files come back into the new folder), so no folder of the old collections is
        left in the new index. On a Chroma server, qa's two collections are dropped by name."""
        if chroma_url:
            client = _http_client(chroma_url, None)
            for name in (CHUNKS, FILES):
                try:
                    client.delete_collection(name)
                except Exception as exc:
                    if "does not exist" not in str(exc):
                        raise _wrap(exc, chroma_url) from None
            return cls.open(index_dir, chroma_url), ""
        note = ""
        if index_dir.exists() and any(index_dir.iterdir()):
            _forget_client(index_dir)  # a cached client would keep writing to the moved files
            aside = _aside_name(index_dir)
            try:
                shutil.move(str(index_dir), str(aside))
                if (aside / "removed").is_dir():
                    index_dir.mkdir(parents=True)
                    shutil.move(str(aside / "removed"), str(index_dir / "removed"))
                    _write_marker(index_dir)  # a folder of ours, not foreign files
            except OSError as exc:
                raise IndexError_(f"the index at {index_dir} cannot be moved aside "
                                  f"({exc.strerror or exc}): move or rename it yourself, then "
                                  "run `qa index`") from None
            note = (f"the old index was moved to {aside} (delete it once the new one works)")
        return cls.open(index_dir, chroma_url), note

    # --- files ---------------------------------------------------------------------------------
    def files(self) -> dict[str, FileRecord]:
        """The committed files."""
        return self._records()[0]

    def view(self) -> IndexView:
        """What searches may see now (one small read)."""
        records, pending = self._records()
        return IndexView({s: r.sha256 for s, r in records.items()}, pending)

    def _records(self) -> tuple[dict[str, FileRecord], dict[str, str]]:
        got = self._call(self._files.get, include=["metadatas"])
        records: dict[str, FileRecord] = {}
        pending: dict[str, str] = {}
        for i, m in zip(got["ids"], got["metadatas"] or [], strict=True):
            if i == VERSION_ID:
                continue
            if m.get("pending"):
                pending[m["source"]] = m["sha256"]
            else:
                records[m["source"]] = FileRecord(m["source"], m["sha256"], int(m["chunks"]))
        return records, pending

    def begin_file(self, source: str, sha256: str) -> None:
        """Says that `source`'s version `sha256` is being stored in several steps: until
        `commit_files`, searches leave its chunks out in the query itself."""
        self._call(self._files.upsert, ids=[_pending_id(source)], embeddings=[[0.0]],
                   metadatas=[{"source": source, "sha256": sha256, "pending": True}])
        self._bump_version()

    def forget_pending(self, sources: list[str]) -> None:
        if sources:
            self._call(self._files.delete, ids=[_pending_id(s) for s in sources])
            self._bump_version()

    def fingerprint(self) -> str:
        """Changes whenever the indexed content changes (also when another process, e.g. another
        `qa chat` on the same Chroma server, changed it). One small read: it runs per question."""
        got = self._call(self._files.get, ids=[VERSION_ID], include=["metadatas"])
        metas = got["metadatas"] or []
        if metas and metas[0] and metas[0].get("version"):
            return str(metas[0]["version"])
        # an index written before the version record existed: derive it from the file records
        items = sorted((r.source, r.sha256) for r in self.files().values())
        return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]

    def _bump_version(self) -> None:
        self._call(self._files.upsert, ids=[VERSION_ID], embeddings=[[0.0]],
                   metadatas=[{"version": uuid.uuid4().hex[:16]}])

    def commit_files(self, records: list[FileRecord]) -> None:
        """Marks files as completely indexed (call only after all their chunks are stored): their
        new versions become visible, then their previous versions' chunks are deleted."""
        if not records:
            return
        metas = [{"source": r.source, "sha256": r.sha256, "chunks": r.chunks} for r in records]
        self._call(self._files.upsert, ids=[_file_id(r.source) for r in records],
                   embeddings=[[0.0]] * len(records), metadatas=metas)
        self._call(self._files.delete, ids=[_pending_id(r.source) for r in records])
        self._bump_version()
        self.delete_stale_chunks({r.source: r.sha256 for r in records})
        if self.sentences is not None:
            self.sentences.commit({r.source: r.sha256 for r in records})

    def forget_file(self, source: str) -> None:
        self._call(self._files.delete, ids=[_file_id(source), _pending_id(source)])
        self._bump_version()
        self.delete_chunks(source)
        if self.sentences is not None:
            self.sentences.forget(source)

    # --- chunks --------------------------------------------------------------------------------
    def add_chunks(self, chunks: list[Chunk], embeddings: np.ndarray) -> None:
        if not chunks:
            return
        from llama_index.core.schema import TextNode
        from llama_index.vector_stores.chroma import ChromaVectorStore

        nodes = [
            TextNode(id_=c.id, text=c.text, embedding=[float(x) for x in e],
                     metadata=_chunk_meta(c), start_char_idx=c.start, end_char_idx=c.end,
                     excluded_embed_metadata_keys=list(_chunk_meta(c)),
                     excluded_llm_metadata_keys=list(_chunk_meta(c)))
            for c, e in zip(chunks, embeddings, strict=True)
        ]
        stored = self.stored_ids([c.id for c in chunks])
        nodes = [n for n in nodes if n.id_ not in stored]  # re-run after a kill: no duplicates
        if nodes:
            self._call(ChromaVectorStore(chroma_collection=self._chunks).add, nodes)

    def stored_ids(self, ids: list[str]) -> set[str]:
        """Which of these chunk ids are stored already (a rerun after a kill skips them)."""
        if not ids:
            return set()
        found: set[str] = set()
        for a in range(0, len(ids), PAGE):
            found.update(self._call(self._chunks.get, ids=ids[a : a + PAGE], include=[])["ids"])
        return found

    def delete_chunks(self, source: str, keep_sha256: str | None = None) -> None:
        where: dict[str, Any] = {"source": source}
        if keep_sha256:
            where = {"$and": [where, {"sha256": {"$ne": keep_sha256}}]}
        self._call(self._chunks.delete, where=where)
        self._bump_version()

    def delete_stale_chunks(self, keep: dict[str, str]) -> None:
        """For each source -> sha256 in `keep`, deletes that source's chunks of any other version.
        One delete for all of them (indexing commits files a batch at a time)."""
        clauses = [{"$and": [{"source": s}, {"sha256": {"$ne": h}}]} for s, h in sorted(keep.items())]
        if clauses:
            self._call(self._chunks.delete, where=_any(clauses))

    def sweep(self) -> int:
        """Deletes chunks that no file record or pending record accounts for (a killed run's, of a
        file since deleted or changed again); returns how many. Reads every chunk's metadata."""
        view = self.view()
        orphans = [i for i, _, m in self._pages(include=["metadatas"])
                   if m["sha256"] not in (view.committed.get(m["source"]),
                                          view.pending.get(m["source"]))]
        for a in range(0, len(orphans), PAGE):
            self._call(self._chunks.delete, ids=orphans[a : a + PAGE])
        if self.sentences is not None:
            self.sentences.sweep(view.committed, view.pending)
        return len(orphans)

    def count(self) -> int:
        return int(self._call(self._chunks.count))

    def chunks_of(self, source: str, sha256: str) -> list[Chunk]:
        """The stored chunks of one file version, in no particular order."""
        where = {"$and": [{"source": source}, {"sha256": sha256}]}
        return [_to_chunk(i, d, m) for i, d, m in self._pages(where=where)]

    def close(self) -> None:
        """Lets go of the sentence file (before the index folder is moved aside)."""
        if self.sentences is not None:
            self.sentences.close()

    def all_chunks(self) -> list[Chunk]:
        return [_to_chunk(i, d, m) for i, d, m in self._pages()]

    def _pages(self, where: dict[str, Any] | None = None,
               include: tuple[str, ...] | list[str] = ("documents", "metadatas"),
               ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(id, text, metadata) of the chunks matching `where`, read PAGE at a time: Chroma
        binds a SQL variable per row it reads back, and SQLite allows at most 32,766, so one
        `get` of a bigger file or library fails. Text is "" when not included."""
        for offset in itertools.count(0, PAGE):
            got = self._call(self._chunks.get, include=list(include), limit=PAGE, offset=offset,
                             **({"where": where} if where else {}))
            ids = got["ids"]
            docs = got.get("documents") or [""] * len(ids)
            yield from zip(ids, docs, got["metadatas"] or [{}] * len(ids), strict=True)
            if len(ids) < PAGE:
                return

    def query(self, embedding: np.ndarray, n: int, sources: Collection[str] | None = None,
              hide: dict[str, str] | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks with their cosine similarity, best first. (Chroma returns fewer when the
        index holds fewer than `n`: no count() round trip per question.) `sources`: only chunks
        of these files (Chroma's `where` on the `source` metadata); None: all. `hide`: source ->
        sha256 of file versions to leave out (those being stored, `IndexView.pending`)."""
        if n <= 0 or (sources is not None and not sources):
            return []
        clauses = [] if sources is None else [{"source": {"$in": sorted(sources)}}]
        clauses += [{"$or": [{"source": {"$ne": s}}, {"sha256": {"$ne": h}}]}
                    for s, h in sorted((hide or {}).items())]
        where = _any(clauses, "$and")
        got = self._call(self._chunks.query, query_embeddings=[embedding.tolist()], n_results=n,
                         include=["documents", "metadatas", "distances"],
                         **({"where": where} if where else {}))
        return [(_to_chunk(i, d, m), 1.0 - float(dist)) for i, d, m, dist in zip(
            got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0],
            strict=True)]

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise _wrap(exc, self.location) from None


def _file_id(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()


def _pending_id(source: str) -> str:
    return "pending-" + _file_id(source)


def _any(clauses: list[dict[str, Any]], op: str = "$or") -> dict[str, Any] | None:
    """Chroma's `$or`/`$and` want two clauses or more."""
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {op: clauses}


def _chunk_meta(c: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {"source": c.source, "start": c.start, "end": c.end, "line": c.line,
                            "sha256": c.sha256}
    if c.page is not None:
        meta["page"] = c.page
    if c.planted_instructions:  # only when set: unflagged records are as before the flag existed
        meta["planted_instructions"] = True
    return meta


def _to_chunk(id_: str, text: str, m: dict[str, Any]) -> Chunk:
    return Chunk(id=id_, source=m["source"], start=int(m["start"]), end=int(m["end"]), text=text,
                 sha256=m["sha256"], line=int(m.get("line", 1)), page=m.get("page"),
                 planted_instructions=bool(m.get("planted_instructions", False)))


def _http_client(url: str, chroma_settings: Any) -> Any:
    from urllib.parse import urlparse

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise StoreError(f"QA_CHROMA_URL={url!r} is not a URL like http://127.0.0.1:8000")
    try:
        return chromadb.HttpClient(host=parsed.hostname, port=parsed.port or 8000,
                                   ssl=parsed.scheme == "https",
                                   settings=chroma_settings or ChromaSettings(anonymized_telemetry=False))
    except Exception as exc:
        raise StoreError(f"the Chroma server at {url} cannot be reached ({_short(exc)}): start it "
                         "with `chroma run` or unset QA_CHROMA_URL") from None


def _aside_name(index_dir: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for k in range(1, 1000):
        aside = index_dir.with_name(f"{index_dir.name}.old-{stamp}" + (f"-{k}" if k > 1 else ""))
        if not aside.exists():
            return aside
    raise IndexError_(f"too many {index_dir.name}.old-* folders beside {index_dir}: remove some")


def _forget_client(index_dir: Path) -> None:
    """Stops Chroma's cached client of `index_dir` in this process. Chroma keeps one per path, with
    its database open: after the folder is moved, a new client at the same path would be that old
    one, still reading and writing the moved (or corrupt) files."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient
    except ImportError:
        return
    for key in {str(index_dir), str(index_dir.resolve()), os.path.abspath(index_dir)}:
        system = SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)
        if system is not None:
            with contextlib.suppress(Exception):  # a broken database may fail to close
                system.stop()


def _check_marker(index_dir: Path) -> None:
    marker = index_dir / MARKER
    if marker.exists():
        try:
            info = json.loads(marker.read_text())
        except (OSError, ValueError):
            raise IndexError_(f"{marker} is unreadable: run `qa index --rebuild`") from None
        if info.get("format") != FORMAT or info.get("embedding") != EMBEDDING_MODEL:
            raise IndexError_(f"the index at {index_dir} was built by another version of qa "
                              f"(format {info.get('format')}): run `qa index --rebuild`")
        return
    if index_dir.exists() and any(not p.name.startswith(".") for p in index_dir.iterdir()):
        raise IndexError_(f"{index_dir} holds files that are not a qa index: point QA_INDEX_DIR "
                          "at an empty folder, or run `qa index --rebuild` to move them aside")


def _write_marker(index_dir: Path) -> None:
    marker = index_dir / MARKER
    if not marker.exists():
        marker.write_text(json.dumps({"format": FORMAT, "embedding": EMBEDDING_MODEL}) + "\n")


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]


def _wrap(exc: Exception, location: str) -> Exception:
    if location.startswith("http"):
        return StoreError(f"the Chroma server at {location} failed ({_short(exc)}): check that it "
                          "is running (`chroma run`) or unset QA_CHROMA_URL")
    return IndexError_(f"the index at {location} cannot be read ({_short(exc)}): "
                       "run `qa index --rebuild`")

"""Issue 16: the answerer's sentence vectors are computed at index time and stored beside the index
(`qa.store.sentences`); answers are the same with them as without, an index from before them still
answers (and is filled in by the next `qa index`), and they follow their files like chunks do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.offline.features import SentenceVectors, stored_texts
from qa.store.sentences import FILE, SentenceStore

REPO = Path(__file__).resolve().parent.parent


def _expected_texts(store) -> dict[tuple[str, str], set[str]]:  # type: ignore[no-untyped-def]
    """(source, sha256) -> the texts the answerer would embed of that file's chunks."""
    out: dict[tuple[str, str], set[str]] = {}
    for c in store.all_chunks():
        out.setdefault((c.source, c.sha256), set()).update(stored_texts(c).sentences)
    return out


def _expected_words(store) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted({w for c in store.all_chunks() for w in stored_texts(c).words})


def _rows(store: SentenceStore) -> set[tuple[bytes, str, str]]:
    with store._lock:
        return set(store._db.execute("SELECT key, source, sha256 FROM sentences").fetchall())


def test_store_round_trip(tmp_path: Path, embedder) -> None:
    texts = ["Putin proposed talks in Istanbul.", "Zelenskyy said he would wait.", "Kyiv."]
    vectors = embedder.embed(texts)
    store = SentenceStore.open(tmp_path / "index")
    store.add([("a.txt", "h1", t, v) for t, v in zip(texts, vectors, strict=True)])
    store.add([("b.txt", "h2", texts[0], vectors[0])])  # the same sentence in another file
    got = store.lookup([*texts, "never stored"])
    assert set(got) == set(texts)
    for t, v in zip(texts, vectors, strict=True):
        assert np.array_equal(got[t], v) and got[t].dtype == np.float32
    store.commit({"a.txt": "h1"})
    assert store.complete() == {"a.txt": "h1"}
    store.close()

    again = SentenceStore.open(tmp_path / "index")  # it is a file: it outlives the process
    assert again.count() == 4 and set(again.lookup(texts)) == set(texts)
    again.forget("a.txt")  # b.txt keeps its own row of the shared sentence
    assert set(again.lookup(texts)) == {texts[0]} and again.complete() == {}
    assert again.sweep({}, {}) == 1 and again.count() == 0  # b.txt is no indexed file


def test_a_store_of_another_format_is_emptied(tmp_path: Path, embedder) -> None:
    store = SentenceStore.open(tmp_path)
    store.add([("a.txt", "h", "Some sentence here.", embedder.embed_one("Some sentence here."))])
    store.commit({"a.txt": "h"})
    store._db.execute("PRAGMA user_version = 999")
    store.close()
    reopened = SentenceStore.open(tmp_path)
    assert reopened.upgraded and reopened.count() == 0 and reopened.complete() == {}


def test_indexing_stores_every_sentence_the_answerer_embeds(engine, embedder) -> None:
    report = engine.refresh()
    sentences = engine.store.sentences
    expected = _expected_texts(engine.store)
    texts = sorted(set().union(*expected.values()))
    assert report.sentences_embedded == len(texts) > 15
    assert sentences.complete() == {s: h for s, h in expected}
    stored = sentences.lookup(texts)
    assert set(stored) == set(texts)
    model = embedder.embed(texts)
    assert max(float(abs(stored[t] - v).max()) for t, v in zip(texts, model, strict=True)) < 1e-6
    words = _expected_words(engine.store)  # and their words, each once
    assert "istanbul" in words and report.words_embedded == len(words)
    stored = sentences.lookup(words)
    model = embedder.embed(words)
    assert max(float(abs(stored[w] - v).max()) for w, v in zip(words, model, strict=True)) < 1e-6

    # a question asked with them embeds none of its candidate sentences
    calls: list[list[str]] = []
    engine.vectors = SentenceVectors(_Recording(embedder, calls), sentences)
    engine.answer("Where did Putin propose holding the talks?")
    assert calls == []  # (the question's own texts are embedded with it, by `Engine._query`)


class _Recording:
    """The real embedder, recording what it is asked to embed."""

    def __init__(self, embedder, calls: list[list[str]]) -> None:  # type: ignore[no-untyped-def]
        self._embedder, self.calls = embedder, calls

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self._embedder.embed(texts)


def test_answers_are_identical_with_and_without_stored_vectors(settings, embedder) -> None:
    from qa.api import Engine
    from qa.store.chroma import Store

    with_vectors = Engine(settings, Store.open(settings.index_dir), embedder)
    with_vectors.refresh()
    assert with_vectors.store.sentences is not None and with_vectors.store.sentences.count() > 15
    without = Engine(settings, Store.open(settings.index_dir), embedder)
    without.vectors = SentenceVectors(embedder)  # the model for every sentence, as before
    cases = [json.loads(line) for line in (REPO / "eval" / "dev.jsonl").read_text().splitlines()
             if line.strip()]
    assert len(cases) > 40
    for case in cases:
        *history, question = case["turns"]
        a = with_vectors.answer(question, history).to_dict()
        b = without.answer(question, history).to_dict()
        assert a == b, question


def test_an_index_from_before_sentence_vectors_answers_then_is_filled_in(settings,
                                                                       embedder) -> None:
    from qa.api import Engine
    from qa.store.chroma import Store

    first = Engine(settings, Store.open(settings.index_dir), embedder)
    first.refresh()
    want = first.answer("Where did Putin propose holding the talks?").to_dict()
    first.store.close()
    (settings.index_dir / FILE).unlink()  # as an index built before the file existed
    for extra in settings.index_dir.glob(FILE + "-*"):  # its WAL and shared-memory files
        extra.unlink()

    old = Engine(settings, Store.open(settings.index_dir), embedder)
    assert old.store.sentences is not None and old.store.sentences.count() == 0
    a = old.answer("Where did Putin propose holding the talks?")
    assert a.to_dict() == want and not a.notice  # the model stands in, and nothing is said
    report = old.refresh()  # `qa index`: nothing to re-embed but the sentences
    assert report.chunks_embedded == 0 and report.files_upgraded == 1
    assert report.sentences_embedded > 15 and report.warnings == ()
    expected = _expected_texts(old.store)
    texts = set().union(*expected.values())
    assert set(old.store.sentences.lookup(sorted(texts))) == texts
    assert old.refresh().files_upgraded == 0  # once


def test_a_removed_or_changed_files_vectors_go_with_it(engine, seeds_dir: Path) -> None:
    other = seeds_dir / "other.txt"
    other.write_text("The harbour of Odesa reopened in March.\n\nGrain ships left it daily "
                     "for Istanbul and Alexandria.\n", encoding="utf-8")
    engine.refresh()
    sentences = engine.store.sentences
    old_sha = engine.store.files()["other.txt"].sha256
    assert {s for _, s, _ in _rows(sentences)} == {"other.txt", "000_7383d27b375f9d56.txt"}

    other.write_text("The harbour of Odesa closed in May after the strikes on its piers.\n",
                     encoding="utf-8")
    engine.refresh()
    new_sha = engine.store.files()["other.txt"].sha256
    assert {h for _, s, h in _rows(sentences) if s == "other.txt"} == {new_sha} != {old_sha}
    assert "The harbour of Odesa reopened in March." not in sentences.lookup(
        ["The harbour of Odesa reopened in March."])

    other.unlink()
    engine.refresh()
    assert {s for _, s, _ in _rows(sentences)} == {"000_7383d27b375f9d56.txt"}
    assert "other.txt" not in sentences.complete()


def test_an_interrupted_batch_resumes_without_embedding_again(
        settings, embedder, seeds_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A run stopped in its third batch (the embedder dies, as a kill would stop it) keeps what
    the first two stored; the rerun embeds only the rest and ends where a clean run does."""
    from qa.store import indexer
    from qa.store.chroma import Store

    monkeypatch.setattr(indexer, "BATCH_CHUNKS", 2)
    article = (seeds_dir / "000_7383d27b375f9d56.txt").read_text(encoding="utf-8")
    (seeds_dir / "twice.txt").write_text(article.replace("Putin", "The president"),
                                         encoding="utf-8")

    class Killed(Exception):
        pass

    calls = []

    def dies_in_the_third_batch(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        if len(calls) == 3:
            raise Killed
        return embedder.embed(texts)

    store = Store.open(settings.index_dir)
    with pytest.raises(Killed):
        indexer.update(store, seeds_dir, dies_in_the_third_batch, embedder.token_counts,
                       sentence_texts=stored_texts)
    assert store.sentences is not None
    before = {k: v for k, v in _vectors(store.sentences).items()}
    assert before and store.sentences.complete() == {}

    report = indexer.update(store, seeds_dir, embedder.embed, embedder.token_counts,
                            sentence_texts=stored_texts)
    assert report.chunks_resumed > 0 and report.sentences_embedded > 0

    clean = Store.open(tmp_path / "clean")
    assert clean.sentences is not None
    first = indexer.update(clean, seeds_dir, embedder.embed, embedder.token_counts,
                           sentence_texts=stored_texts)
    # the rerun embedded exactly the sentences the stopped run had not stored
    assert len({k for k, _, _ in before}) + report.sentences_embedded == first.sentences_embedded
    resumed, fresh = _vectors(store.sentences), _vectors(clean.sentences)
    assert resumed.keys() == fresh.keys()
    assert max(float(abs(resumed[k] - fresh[k]).max()) for k in fresh) < 1e-6
    assert store.sentences.complete() == clean.sentences.complete()


def _vectors(store: SentenceStore) -> dict[tuple[bytes, str, str], np.ndarray]:
    with store._lock:
        rows = store._db.execute("SELECT key, source, sha256, vector FROM sentences").fetchall()
    return {(k, s, h): np.frombuffer(v, dtype=np.float32) for k, s, h, v in rows}


def test_rebuild_moves_the_sentence_vectors_aside_with_the_index(engine, settings) -> None:
    engine.refresh()
    assert (settings.index_dir / FILE).exists()
    report = engine.refresh(rebuild=True)
    assert report.sentences_embedded > 15  # built anew
    assert engine.vectors.stored is engine.store.sentences
    aside = [p for p in settings.index_dir.parent.iterdir() if p.name.startswith("index.old-")]
    assert len(aside) == 1 and (aside[0] / FILE).exists()
    shutil.rmtree(aside[0])

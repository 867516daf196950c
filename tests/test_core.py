"""Issue 2: ingestion, the index, retrieval, extractive answers, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import IndexError_, QuestionError, SourceError
from qa.types import NO_ANSWER

SEED_NAME = "000_7383d27b375f9d56.txt"


def test_answer_matches_the_python_contract(engine, seeds_dir: Path) -> None:
    a = engine.answer("Where did Putin propose holding the talks?", history=None)
    assert a.supported
    assert "istanbul" in a.text.lower() and "[1]" in a.text
    text = (seeds_dir / SEED_NAME).read_text(encoding="utf-8")
    assert a.citations and a.citations[0].n == 1
    for c in a.citations:
        assert c.source == SEED_NAME
        assert text[c.start : c.end] == c.quote
        assert len(c.quote) < 300  # a sentence, not a chunk
    d = json.loads(json.dumps(a.to_dict()))
    assert d["citations"][0]["quote"] == text[d["citations"][0]["start"] : d["citations"][0]["end"]]


def test_public_functions(seeds_dir: Path) -> None:
    from qa import answer, verify

    a = answer("How long was the ceasefire European leaders demanded?")
    assert a.supported and "30-day" in a.text
    assert [c.status for c in verify(a)] == ["ok"] * len(a.citations)


def test_follow_up_uses_history(engine) -> None:
    follow = engine.answer("Where would they be held?", history=["What did Putin propose?"])
    assert follow.supported and "istanbul" in follow.text.lower()
    assert "What did Putin propose?" in follow.standalone_question


@pytest.mark.parametrize("question", [
    "What is the capital of France?",
    "What did Chinese President Xi Jinping say about the talks?",
    "How many soldiers have died in the war so far?",
    "How do I bake sourdough bread?",
])
def test_abstains_on_what_the_sources_do_not_say(engine, question: str) -> None:
    a = engine.answer(question)
    assert not a.supported
    assert a.text == NO_ANSWER and a.citations == []


@pytest.mark.parametrize("question", ["", "   \n\t"])
def test_empty_question_is_a_clear_error(engine, question: str) -> None:
    with pytest.raises(QuestionError, match="empty"):
        engine.answer(question)


def test_huge_question_is_a_clear_error(engine) -> None:
    with pytest.raises(QuestionError, match="4,000"):
        engine.answer("why " * 1001)


def test_index_is_incremental(engine, seeds_dir: Path) -> None:
    first = engine.refresh()
    assert first.files_indexed == 1 and first.chunks_embedded == first.chunks_total > 0
    again = engine.refresh()
    assert again.chunks_embedded == 0 and again.files_unchanged == 1
    assert engine.store.count() == first.chunks_total

    (seeds_dir / "notes.md").write_text("# Notes\n\nThe delegation met in Ankara on Friday.\n")
    added = engine.refresh()
    assert added.files_indexed == 1 and added.files_unchanged == 1
    assert added.chunks_embedded == 1

    (seeds_dir / "notes.md").write_text("# Notes\n\nThe delegation met in Izmir on Monday.\n")
    changed = engine.refresh()
    assert changed.chunks_embedded == 1
    texts = [c.text for c in engine.store.all_chunks() if c.source == "notes.md"]
    assert texts == ["# Notes\n\nThe delegation met in Izmir on Monday."] or \
        all("Ankara" not in t for t in texts)

    (seeds_dir / "notes.md").unlink()
    removed = engine.refresh()
    assert removed.files_removed == 1
    assert {c.source for c in engine.store.all_chunks()} == {SEED_NAME}


def test_asking_updates_a_stale_index(engine, seeds_dir: Path) -> None:
    engine.answer("Where did Putin propose holding the talks?")
    (seeds_dir / "extra.txt").write_text("The summit budget was 4 million euros.\n")
    a = engine.answer("What was the summit budget?")
    assert a.supported and a.citations[0].source == "extra.txt"


def test_chunks_have_exact_offsets_and_fit_the_model(engine, embedder, seeds_dir: Path) -> None:
    engine.refresh()
    text = (seeds_dir / SEED_NAME).read_text(encoding="utf-8")
    chunks = sorted(engine.store.all_chunks(), key=lambda c: c.start)
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert embedder.count_tokens(c.text) < 256
        assert c.line == text.count("\n", 0, c.start) + 1
    covered = " ".join(text[c.start : c.end] for c in chunks)
    assert len(covered.split()) == len(text.split())  # no sentence lost between chunks


def test_long_sentence_is_split_under_the_limit(engine, embedder, seeds_dir: Path) -> None:
    (seeds_dir / "long.txt").write_text(("word " * 900).strip() + ".\n")
    engine.refresh()
    long_chunks = [c for c in engine.store.all_chunks() if c.source == "long.txt"]
    assert len(long_chunks) > 3
    assert all(embedder.count_tokens(c.text) < 256 for c in long_chunks)


def test_bad_files_warn_and_the_rest_is_indexed(engine, seeds_dir: Path) -> None:
    (seeds_dir / "empty.txt").write_text("")
    (seeds_dir / "blob.txt").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    (seeds_dir / "latin.txt").write_bytes("Le café est fermé à Genève.\n".encode("latin-1"))
    (seeds_dir / "image.png").write_bytes(b"\x89PNG\r\n")
    report = engine.refresh()
    joined = "\n".join(report.warnings)
    assert "empty.txt" in joined and "empty" in joined
    assert "blob.txt" in joined and "binary" in joined
    assert "latin.txt" in joined and "UTF-8" in joined
    assert "image.png" in joined
    sources = {c.source for c in engine.store.all_chunks()}
    assert sources == {SEED_NAME, "latin.txt"}
    latin = [c for c in engine.store.all_chunks() if c.source == "latin.txt"][0]
    assert "café" in latin.text


def test_empty_seeds_is_a_clear_error(engine, seeds_dir: Path) -> None:
    (seeds_dir / SEED_NAME).unlink()
    with pytest.raises(SourceError, match="no documents"):
        engine.answer("Where are the talks?")


def test_foreign_index_folder_is_refused_and_kept(tmp_path: Path) -> None:
    from qa.store.chroma import Store

    index = tmp_path / "index"
    index.mkdir()
    (index / "thesis.docx").write_text("my thesis")
    with pytest.raises(IndexError_, match="not a qa index"):
        Store.open(index)
    store, note = Store.rebuild(index)
    assert "moved to" in note
    moved = list(tmp_path.glob("index.old-*"))
    assert moved and (moved[0] / "thesis.docx").read_text() == "my thesis"
    assert store.count() == 0


def test_index_from_another_version_asks_for_rebuild(tmp_path: Path, engine) -> None:
    from qa.store.chroma import MARKER, Store

    engine.refresh()
    marker = tmp_path / "index" / MARKER
    marker.write_text(json.dumps({"format": 0, "embedding": "all-MiniLM-L6-v2"}))
    with pytest.raises(IndexError_, match="qa index --rebuild"):
        Store.open(tmp_path / "index")


def test_corrupt_index_is_a_clear_error(tmp_path: Path, engine) -> None:
    import subprocess
    import sys

    engine.refresh()
    db = tmp_path / "index" / "chroma.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    # a fresh process: Chroma caches open clients per path within one process
    out = subprocess.run([sys.executable, "-m", "qa", "ask", "Where are the talks?"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines[-1].startswith("error: the index at") and "--rebuild" in lines[-1]
    assert "Traceback" not in out.stderr


def test_verify_reports_changed_and_missing_sources(engine, seeds_dir: Path) -> None:
    a = engine.answer("Where did Putin propose holding the talks?")
    path = seeds_dir / SEED_NAME
    original = path.read_text(encoding="utf-8")
    assert [c.status for c in engine.verify(a)] == ["ok"]
    path.write_text("Breaking news.\n" + original, encoding="utf-8")
    checks = engine.verify(a)
    assert checks[0].status == "source changed" and "line 2" in checks[0].detail
    path.write_text(original.replace("Istanbul", "Ankara"), encoding="utf-8")
    assert engine.verify(a)[0].status == "quote not found"
    path.unlink()
    assert engine.verify(a)[0].status == "source missing"


def test_fusion_ranks_exact_terms_and_meaning(engine) -> None:
    from qa.store.retrieve import Ranked, fuse

    engine.refresh()
    chunks = engine.store.all_chunks()
    a, b, c = chunks[0], chunks[1], chunks[2]
    fused = fuse([[Ranked(a, 0), Ranked(b, 1)], [Ranked(b, 0), Ranked(c, 1)]], k=3)
    assert [p.chunk.id for p in fused][0] == b.id  # in both rankings
    assert {p.chunk.id for p in fused} == {a.id, b.id, c.id}
    passages, _ = engine.retrieve("30-day ceasefire sanctions")
    assert "30-day" in passages[0].text


def test_answer_stream_yields_deltas_then_the_answer(engine) -> None:
    from qa.types import Answer

    items = list(engine.answer_stream("What did Zelenskyy say must come before any negotiations?"))
    final = items[-1]
    assert isinstance(final, Answer) and all(isinstance(i, str) for i in items[:-1])
    assert "".join(items[:-1]) == final.text


def test_sentence_vectors_are_safe_across_threads(embedder) -> None:
    """The chat answers many questions at once from one cache that also evicts."""
    from concurrent.futures import ThreadPoolExecutor

    from qa.offline.extractive import SentenceVectors

    vectors = SentenceVectors(embedder, capacity=5)
    texts = [f"sentence number {i} about the talks" for i in range(12)]
    expected = embedder.embed(texts)

    def lookup(i: int):  # type: ignore[no-untyped-def]
        batch = [texts[(i + k) % 12] for k in range(4)]
        return batch, vectors.get(batch)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for batch, got in pool.map(lookup, range(48)):
            want = [expected[texts.index(t)] for t in batch]
            assert abs(got - want).max() < 1e-5

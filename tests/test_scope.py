"""Issue 17: choosing the documents a question covers (`sources`), and what a refusal shows (the
closest passages, one plain reason). Real Chroma, real embedding model, the real answerer, over
the seed article (A) and a second news article about other ceasefire talks (B)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.errors import QuestionError, SourceError

REPO = Path(__file__).resolve().parent.parent
A = "000_7383d27b375f9d56.txt"
B = "b2a1.txt"  # Marevian government and rebels agree to resume ceasefire talks in Kestania
PUTIN = "Where did Putin propose holding the talks?"


@pytest.fixture
def two_docs(seeds_dir: Path) -> Path:
    shutil.copy(REPO / "eval" / "other" / B, seeds_dir / B)
    return seeds_dir


def texts(seeds_dir: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in seeds_dir.iterdir()}


def test_a_question_answered_from_a_is_not_answered_from_a_when_scoped_to_b(
        engine, two_docs: Path) -> None:
    whole = engine.answer(PUTIN)
    assert whole.supported and {c.source for c in whole.citations} == {A}
    assert "Istanbul" in whole.text

    scoped = engine.answer(PUTIN, sources=[B])
    assert all(c.source == B for c in scoped.citations + scoped.closest)
    assert "Istanbul" not in scoped.text
    if not scoped.supported:  # B never mentions Putin: a refusal that says so
        assert "never mention Putin" in scoped.notice

    same = engine.answer(PUTIN, sources=[A])
    assert same.text == whole.text and same.citations == whole.citations


def test_a_name_only_other_documents_use_is_not_said_to_be_never_mentioned(
        engine, two_docs: Path) -> None:
    # Scoped to B, no passage found names Putin; but A does: "the sources never mention Putin"
    # would be false. A name no document uses still gets the plain sentence.
    scoped = engine.answer(PUTIN, sources=[B])
    assert not scoped.supported
    assert scoped.notice == "the passages found never mention Putin"
    macron = engine.answer("What did Macron say about the talks?", sources=[B])
    assert macron.notice == "the sources never mention Macron"
    both = engine.answer("Did Putin and Macron meet?", sources=[B])
    assert both.notice == "the sources never mention Macron"


def test_scope_is_a_filter_inside_the_retriever(engine, two_docs: Path) -> None:
    engine.ensure_index()
    b_chunks = engine.store.files()[B].chunks
    passages, _ = engine.retrieve("Putin Istanbul peace talks Zelenskyy ceasefire", sources=[B])
    # Not the top passages of all files with A's removed afterwards (that would leave nothing
    # here: every word of the question is A's): as many of B's own chunks as there are to give.
    assert [p.source for p in passages] == [B] * min(engine.settings.top_k, b_chunks)
    unscoped, _ = engine.retrieve("Putin Istanbul peace talks Zelenskyy ceasefire")
    assert unscoped[0].source == A

    # Each side on its own: Chroma's `where` and the BM25 mask.
    vector = engine.embedder.encode(["Putin Istanbul"])[0].vector
    assert {c.source for c, _ in engine.store.query(vector, 20, [B])} == {B}
    assert {r.chunk.source for r in engine.retriever.bm25().search("Putin Istanbul", 20, [B])} \
        <= {B}
    assert {r.chunk.source for r in engine.retriever.bm25().search("Putin Istanbul", 20)} == {A}


def test_a_path_in_seeds_counts_as_its_name(engine, two_docs: Path) -> None:
    a = engine.answer(PUTIN, sources=[str(two_docs / A)])
    assert a.supported and {c.source for c in a.citations} == {A}


def test_an_unknown_source_is_one_line_that_lists_what_is_indexed(engine, two_docs: Path) -> None:
    with pytest.raises(SourceError) as err:
        engine.answer(PUTIN, sources=[A, "minutes.txt"])
    message = str(err.value)
    assert "\n" not in message
    assert "'minutes.txt' is not an indexed document" in message
    assert A in message and B in message
    with pytest.raises(QuestionError, match="list of file names"):
        engine.answer(PUTIN, sources=A)  # a string is not a list of names


def test_python_entry_point_takes_sources(two_docs: Path) -> None:
    from qa import answer

    a = answer("What did the rebels and the government agree to?", sources=[B])
    assert a.supported and {c.source for c in a.citations} == {B}
    for c in a.citations:
        assert texts(two_docs)[B][c.start:c.end] == c.quote


def test_cli_ask_source(two_docs: Path, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.app.cli import main

    monkeypatch.chdir(two_docs.parent)  # `seeds/b2a1.txt`: a path from the current folder

    assert main(["ask", PUTIN, "--source", B, "--source", f"{two_docs.name}/{B}", "--json"]) == 0
    scoped = json.loads(capsys.readouterr().out)
    assert all(c["source"] == B for c in scoped["citations"] + scoped["closest"])
    assert main(["ask", PUTIN, "--source", A, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["supported"] is True

    assert main(["ask", PUTIN, "--source", "nope.txt"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: 'nope.txt' is not an indexed document; indexed: ")
    assert "\n" not in err and A in err and B in err


# --- refusals --------------------------------------------------------------------------------


def test_a_refusal_carries_the_closest_passages(engine, seeds_dir: Path) -> None:
    a = engine.answer("What is the capital of Australia?")
    assert not a.supported and a.citations == []
    text = texts(seeds_dir)[A]
    assert 1 <= len(a.closest) <= 3
    assert [c.n for c in a.closest] == list(range(1, len(a.closest) + 1))
    for c in a.closest:
        assert text[c.start:c.end] == c.quote and len(c.quote) < 400  # a sentence, exact
    again = type(a).from_dict(json.loads(json.dumps(a.to_dict())))
    assert again.closest == a.closest

    answered = engine.answer(PUTIN)
    assert answered.supported and answered.closest == []


def test_the_closest_passages_of_a_refusal_are_about_the_question(engine) -> None:
    # The article tells of Zelenskyy's conditions, not of his age: the nearest sentences are his.
    a = engine.answer("How old is Zelenskyy?")
    assert not a.supported
    assert any("Zelenskyy" in c.quote for c in a.closest)


def test_a_refusal_says_why_once(engine) -> None:
    a = engine.answer("What did Macron say about the talks?")
    assert not a.supported
    assert a.notice == "the sources never mention Macron"


def test_a_model_refusal_carries_the_closest_passages_too(embedder, seeds_dir: Path) -> None:
    """QA_BACKEND=openai against a scripted OpenAI-compatible server: the model says it cannot
    answer; the refusal still shows the nearest sentences, in scope, exact."""
    from fake_openai import FakeOpenAI, Reply

    from qa.api import Engine
    from qa.config import Settings
    from qa.model.cite import CANNOT_ANSWER
    from qa.store.chroma import Store

    shutil.copy(REPO / "eval" / "other" / B, seeds_dir / B)
    with FakeOpenAI() as server:
        settings = Settings.from_env().with_(backend="openai", base_url=server.base_url,
                                             api_key="sk-test", model="fake-model")
        engine = Engine(settings, Store.open(settings.index_dir, settings.chroma_url), embedder)
        server.enqueue(Reply(CANNOT_ANSWER))
        a = engine.answer("How old is Zelenskyy?", sources=[A])
    assert a.backend == "openai" and not a.supported
    assert 1 <= len(a.closest) <= 3
    text = texts(seeds_dir)[A]
    assert all(c.source == A and text[c.start:c.end] == c.quote for c in a.closest)

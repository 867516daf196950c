"""Issue 17: the chat's first screen: documents by title, and suggested questions drawn from the
documents that the real answerer answers with a citation (real Chroma, embedder, answerer)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from qa.app.suggest import (
    CACHE_FILE,
    DocumentTitle,
    Suggester,
    candidate_questions,
    document_title,
    vocabulary_of,
)

REPO = Path(__file__).resolve().parent.parent
A = "000_7383d27b375f9d56.txt"
B = "b2a1.txt"


def test_title_is_the_title_line_or_the_first_heading() -> None:
    assert document_title("# Lab notes\n\nThe kettle is named Bertha.\n") == "Lab notes"
    assert document_title("Tram line approved\n\nLINDGATE — The council voted.\n") == \
        "Tram line approved"
    # The first line is a sentence: the first heading further down is the title.
    assert document_title("Talks will open on Monday.\nWhat the envoys want\nMore text.\n") == \
        "What the envoys want"
    assert document_title("Only sentences here. Nothing else.\n") == ""
    long = document_title("A " + "very " * 40 + "long title\n")
    assert len(long) <= 91 and long.endswith("…")
    assert DocumentTitle("sub/a.txt", "").label == "a.txt"
    assert DocumentTitle("a.txt", "Lab notes").label == "Lab notes · a.txt"


def test_seed_title_is_read_from_the_file() -> None:
    text = (REPO / "seeds" / A).read_text(encoding="utf-8")
    title = document_title(text)
    assert title and title in text.splitlines()


def test_candidates_follow_the_sentences_of_the_text() -> None:
    text = ("Bridge plan\n\nMayor Ana Ruiz has approved a new bridge over the river. "
            "Governor Lee signed the bill on Monday, after a long debate.\n\n"
            "He said little. The bridge is a steel arch with two lanes.\n\n"
            "Harbour Bridge is a steel arch with two lanes.\n")
    qs = candidate_questions(text, vocabulary_of([text]))
    assert "What has Mayor Ana Ruiz approved?" in qs
    assert "Who signed the bill on Monday?" in qs
    assert "When did Governor Lee sign?" in qs
    assert "What is Harbour Bridge?" in qs
    assert "What is the bridge?" not in qs  # asks nothing in particular
    assert not any(q.startswith(("What did He", "Who said")) for q in qs)  # no pronoun subject
    assert all(q.endswith("?") and "\n" not in q for q in qs)


def test_a_past_form_becomes_a_base_form_only_when_sure() -> None:
    text = "Officials visited the site.\nOfficials stopped the work.\nOfficials carried the flag.\n"
    qs = candidate_questions(text, vocabulary_of([text]))
    assert "What did Officials stop?" in qs and "What did Officials carry?" in qs
    assert not any("visit" in q and "did" in q for q in qs)  # visit or visite: not guessed


@pytest.fixture
def two_docs(seeds_dir: Path) -> Path:
    shutil.copy(REPO / "eval" / "other" / B, seeds_dir / B)
    return seeds_dir


class CountingSuggester(Suggester):
    """The real Suggester, counting the questions it puts to the answerer."""

    asked = 0

    def _answers(self, question: str) -> bool:
        self.asked += 1
        return super()._answers(question)


def test_first_screen_titles_and_checked_suggestions(engine, two_docs: Path) -> None:
    engine.refresh()
    suggester = CountingSuggester(engine)
    screen = suggester.first_screen()

    texts = {p.name: p.read_text(encoding="utf-8") for p in two_docs.iterdir()}
    assert [d.source for d in screen.documents] == sorted(texts)
    for d in screen.documents:
        assert d.title and d.title in texts[d.source]  # a line of the document, not a file name
        assert "seeds/" not in d.label

    assert 3 <= len(screen.suggestions) <= 4
    assert len({s.question for s in screen.suggestions}) == len(screen.suggestions)
    for s in screen.suggestions:
        a = engine.answer(s.question)  # each is really answered, with exact citations
        assert a.supported and a.citations, s.question
        assert all(texts[c.source][c.start:c.end] == c.quote for c in a.citations)
    asked = suggester.asked
    assert asked >= len(screen.suggestions)

    # Cached per index state: asked again, nothing is answered again, here or after a restart.
    assert suggester.first_screen() == screen and suggester.asked == asked
    cached = json.loads((engine.settings.index_dir / CACHE_FILE).read_text(encoding="utf-8"))
    assert [s["question"] for s in cached["suggestions"]] == [
        s.question for s in screen.suggestions]
    restarted = CountingSuggester(engine)
    assert restarted.first_screen() == screen and restarted.asked == 0

    # A new document is a new index state: worked out again, and listed.
    (two_docs / "kettle.md").write_text("# Lab kettle\n\nThe lab kettle is named Bertha.\n",
                                        encoding="utf-8")
    engine.refresh()
    again = restarted.first_screen()
    assert restarted.asked > 0
    assert DocumentTitle("kettle.md", "Lab kettle") in again.documents


def test_an_empty_library_has_an_empty_first_screen(engine, seeds_dir: Path) -> None:
    (seeds_dir / A).unlink()
    engine.refresh()
    screen = Suggester(engine).first_screen()
    assert screen.documents == () and screen.suggestions == ()


class TimedSuggester(Suggester):
    """The real Suggester, noting when it puts each question to the answerer."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        super().__init__(engine)
        self.times: list[float] = []

    def _answers(self, question: str) -> bool:
        self.times.append(time.monotonic())
        return super()._answers(question)


def test_suggestions_wait_while_someone_s_question_is_answered(engine) -> None:
    """Working out the suggested questions is background work: while the engine answers a
    question (with the reader model, the same one model), it puts none of its own."""
    engine.refresh()
    suggester = TimedSuggester(engine)
    assert not engine.busy()
    with engine._answering():  # noqa: SLF001 - a question in flight, for as long as we say
        assert engine.busy()
        worker = threading.Thread(target=suggester.first_screen)
        worker.start()
        time.sleep(2.0)
        released = time.monotonic()
    worker.join(timeout=120)
    assert not worker.is_alive() and not engine.busy()
    assert suggester.times and min(suggester.times) >= released
    assert engine.answer("Where did Putin propose holding the talks?").supported
    assert not engine.busy()  # counted down again after an answer

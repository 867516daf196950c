"""Issue 17 through a real Gradio server (gradio_client): the `/ask` endpoint's `sources`, the
closest passages of a refusal, and the first screen's suggestions asked through the page's own
chat event. Real engine, real Chroma, real embedding model; nothing faked."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from qa.app.conversations import Turn
from qa.app.render import render_answer, render_sources
from qa.app.suggest import Suggester
from qa.types import Answer, Citation

pytest_plugins = ["ui_fixtures"]  # chat_server, writable_app
if TYPE_CHECKING:
    from ui_fixtures import ChatServer, InProcessApp

REPO = Path(__file__).resolve().parent.parent
A = "000_7383d27b375f9d56.txt"
B = "b2a1.txt"  # another news article, about other ceasefire talks
PUTIN = "Where did Putin propose holding the talks?"


def message_text(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


@pytest.fixture
def two_doc_app(writable_app: InProcessApp) -> InProcessApp:
    shutil.copy(REPO / "eval" / "other" / B, writable_app.seeds_dir / B)
    writable_app.engine.refresh()  # type: ignore[attr-defined]
    return writable_app


@pytest.mark.slow
def test_ask_covers_only_the_sources_given(two_doc_app: InProcessApp) -> None:
    c = Client(two_doc_app.url, verbose=False)
    whole = c.predict(PUTIN, [], None, api_name="/ask")
    assert whole["supported"] and {x["source"] for x in whole["citations"]} == {A}

    scoped = c.predict(PUTIN, [], [B], api_name="/ask")
    assert all(x["source"] == B for x in scoped["citations"] + scoped["closest"])
    assert "Istanbul" not in scoped["text"]

    about_b = c.predict("What did the rebels and the government agree to?", [], [B],
                        api_name="/ask")
    assert about_b["supported"] and {x["source"] for x in about_b["citations"]} == {B}
    text = (two_doc_app.seeds_dir / B).read_text(encoding="utf-8")
    assert all(text[x["start"]:x["end"]] == x["quote"] for x in about_b["citations"])

    for names in (["minutes.txt"], [A, B, "minutes.txt"]):
        with pytest.raises(AppError) as err:
            c.predict(PUTIN, [], names, api_name="/ask")
        assert str(err.value) == f"'minutes.txt' is not an indexed document; indexed: {A}, {B}"


@pytest.mark.slow
def test_a_refusal_through_the_api_carries_the_closest_passages(chat_server: ChatServer) -> None:
    c = Client(chat_server.url, verbose=False)
    result = c.predict("What is the capital of Australia?", api_name="/ask")
    assert result["supported"] is False and result["citations"] == []
    assert 1 <= len(result["closest"]) <= 3
    for x in result["closest"]:
        assert chat_server.source_text(x["source"])[x["start"]:x["end"]] == x["quote"]
    assert Answer.from_dict(result).to_dict() == result

    # The page's chat: the refusal lists them as links to the panel's cards, labelled.
    _, messages, sources = c.predict("What is the capital of Australia?", api_name="/chat")
    bubble = message_text(messages[-1])
    assert "Not an answer — the closest passages found:" in bubble
    assert "Not an answer — the closest passages found:" in sources
    for x in result["closest"]:
        assert f'href="#qa-src-0-{x["n"]}"' in bubble and f'id="qa-src-0-{x["n"]}"' in sources


@pytest.mark.slow
def test_the_first_screen_suggestions_are_answered_through_the_page(
        two_doc_app: InProcessApp) -> None:
    screen = Suggester(two_doc_app.engine).first_screen()  # type: ignore[arg-type]
    assert screen.suggestions
    c = Client(two_doc_app.url, verbose=False)
    for s in screen.suggestions:
        _, messages, sources = c.predict(s.question, api_name="/chat")
        bubble = message_text(messages[-1])
        assert 'class="qa-cite"' in bubble and "qa-unsupported" not in bubble, s.question
        assert '<mark class="qa-quote"' in sources


def test_render_closest_escapes_and_links() -> None:
    quote = "<b>Talks</b> & more."
    c = Citation(n=1, source="dir/a.txt", start=0, end=len(quote), quote=quote, line_start=4,
                 line_end=4, sha256="x")
    a = Answer("q", "The sources do not answer this question.", False, closest=[c],
               notice="the sources never mention Macron")
    html = render_answer(a, turn=2)
    assert "&lt;b&gt;Talks&lt;/b&gt; &amp; more." in html and "<b>" not in html
    assert 'href="#qa-src-2-1"' in html and "a.txt, line 4" in html
    assert "The sources never mention Macron." in html  # a sentence, said once
    panel = render_sources([Turn("q", a)], lambda source: quote)
    assert 'id="qa-src-0-1"' in panel and "closest passages" in panel
    assert re.search(r"No passage of the sources answers", panel) is None

"""The chat in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright): ask,
watch the answer stream in, click a citation, read the highlighted passage; add documents. Every
request the page makes is recorded and must go to 127.0.0.1. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from fake_openai import FakeOpenAI, Reply, Request, grounded_responder
from gradio_client import Client

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest_plugins = ["ui_fixtures"]  # chat_server, chat_launcher, writable_app, browser
if TYPE_CHECKING:
    from ui_fixtures import ChatServer, InProcessApp

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # git-ignored

TIMEOUT = 60_000  # ms: a step that waits on the server; CI machines are shared and loaded
# An answer is waited for longer: a shared 2-core machine under other jobs' load has taken over
# 30 s for the first answer of a page (its first question also warms the server's engine).
ANSWER_TIMEOUT = 120_000  # ms
# An upload, a removal or a reindex runs an index update first: seconds on a loaded machine.
INDEX_TIMEOUT = 60_000  # ms

# Installed before any page script: records every text the streaming answer showed.
WATCH_STREAMING = """
window.__qaPartials = [];
new MutationObserver(() => {
  const el = document.querySelector('#qa-chat .qa-streaming');
  if (!el) return;
  const text = el.textContent.replace('▍', '');
  if (window.__qaPartials[window.__qaPartials.length - 1] !== text) window.__qaPartials.push(text);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


ANSWERED = "#qa-chat .qa-answer:not(.qa-streaming), #qa-chat .qa-error"


@dataclass
class Page:
    page: playwright.Page
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def hosts(self) -> set[str]:
        return {urlsplit(u).hostname or u for u in self.requests}

    def ask(self, question: str) -> None:
        """Types the question, presses Enter and waits until its answer (or error) is shown."""
        count = self.page.locator(ANSWERED).count()
        self.page.locator("#qa-question textarea").fill(question)
        self.page.keyboard.press("Enter")
        self.page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length > n", arg=[ANSWERED, count],
            timeout=ANSWER_TIMEOUT)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), animations="disabled")
        return path


@pytest.fixture
def page(browser: playwright.Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    context.set_default_timeout(TIMEOUT)
    context.add_init_script(WATCH_STREAMING)
    p = context.new_page()
    recorded = Page(p)
    p.on("request", lambda r: recorded.requests.append(r.url))
    p.on("dialog", lambda d: (recorded.dialogs.append(d.message), d.dismiss()))
    yield recorded
    context.close()


def where(c: dict) -> str:
    if c["line_start"] == c["line_end"]:
        return f"line {c['line_start']}"
    return f"lines {c['line_start']}–{c['line_end']}"


def test_ask_stream_click_citation_and_see_the_quote(chat_server: ChatServer, page: Page) -> None:
    question, follow_up = "What did Putin propose?", "Where would they be held?"
    client = Client(chat_server.url, verbose=False)
    expected = client.predict(follow_up, [question], api_name="/ask")
    c = expected["citations"][0]
    source = chat_server.source_text(c["source"])
    assert source[c["start"]:c["end"]] == c["quote"]

    p = page.page
    p.goto(chat_server.url)
    page.ask(question)
    # `qa chat`'s footer offers the settings only: no "Use via API" page for a reader
    footer = p.locator("footer").inner_text()
    assert "Settings" in footer and "API" not in footer and "Gradio" not in footer
    page.ask(follow_up)
    assert p.evaluate("window.__qaPartials.length") > 0  # the placeholder was shown

    answers = p.locator("#qa-chat .qa-answer")
    assert answers.count() == 2
    shown = answers.nth(1).evaluate("""el => { const c = el.cloneNode(true);
        c.querySelectorAll('.qa-actions').forEach(a => a.remove()); return c.textContent; }""")
    # The answer, without its Copy/Export row; markers stand after the full stop on the page.
    assert shown.strip() == re.sub(r" ?((?:\[\d+\])+)([.!?,;:]+)", r"\2\1", expected["text"])

    # The panel shows the sources of the latest answer; no card is selected yet.
    panel = p.locator(".qa-sources")
    assert panel.locator(".qa-turn:not([hidden])").get_attribute("data-turn") == "1"
    assert panel.locator(".qa-card.qa-active").count() == 0

    answers.nth(1).locator("a.qa-cite", has_text="[1]").click()
    card = p.locator("#qa-src-1-1")
    playwright.expect(card).to_have_class("qa-card qa-active")
    playwright.expect(card).to_be_in_viewport()
    assert card.locator("mark.qa-quote").text_content() == c["quote"]
    assert card.locator(".qa-file").text_content() == c["source"]
    assert card.locator(".qa-where").text_content() == where(c)
    # Around the mark: the quote's paragraph of the source, unchanged.
    passage = card.locator(".qa-passage").text_content()
    assert c["quote"] in passage and passage.strip("…") in source
    page.screenshot("chat.png")

    # A number in the first answer brings that answer's sources back.
    answers.nth(0).locator("a.qa-cite").first.click()
    playwright.expect(p.locator("#qa-src-0-1")).to_have_class("qa-card qa-active")
    assert panel.locator(".qa-turn:not([hidden])").get_attribute("data-turn") == "0"

    assert page.hosts() == {"127.0.0.1"}, page.requests
    assert page.dialogs == []


def test_citation_opens_beside_the_answer_on_a_narrow_screen(chat_server: ChatServer,
                                                             page: Page) -> None:
    p = page.page
    p.set_viewport_size({"width": 480, "height": 600})  # the sources panel goes under the chat
    p.goto(chat_server.url)
    page.ask("Which Turkish leader would Putin speak with?")
    y = p.evaluate("window.scrollY")
    p.locator("#qa-chat a.qa-cite").first.click()
    sheet = p.locator("#qa-sheet")  # a sheet over the bottom of the screen, not a jump down
    playwright.expect(sheet).to_be_in_viewport()
    assert "Erdoğan" in sheet.locator("mark.qa-quote.qa-focus").first.text_content()
    assert abs(p.evaluate("window.scrollY") - y) < 300
    page.screenshot("chat-narrow.png")
    sheet.get_by_role("button", name="Close").click()
    playwright.expect(sheet).to_be_hidden()
    assert page.hosts() == {"127.0.0.1"}, page.requests


def test_unsupported_answer_is_marked(chat_server: ChatServer, page: Page) -> None:
    page.page.goto(chat_server.url)
    page.ask("What is the capital of Australia?")
    answer = page.page.locator("#qa-chat .qa-answer").last
    playwright.expect(answer).to_contain_class("qa-unsupported")
    assert answer.locator(".qa-badge").inner_text() == "Not in the sources"
    # No citation: the links under it open the closest passages, marked as not an answer.
    assert answer.locator("a.qa-cite:not(.qa-near)").count() == 0
    assert page.hosts() == {"127.0.0.1"}, page.requests


def test_upload_a_document_then_ask_about_it(writable_app: InProcessApp, page: Page,
                                             tmp_path: Path) -> None:
    note = tmp_path / "Lab notes <b>.md"
    note.write_text("# Lab notes\n\nThe lab kettle is named <script>alert('pwned')</script> "
                    "Bertha, and it boils water in ninety seconds.\n", encoding="utf-8")
    big = tmp_path / "big.txt"
    big.write_text("word " * 20_000, encoding="utf-8")  # 100 kB; this app takes 50 kB at most

    p = page.page
    p.goto(writable_app.url)
    p.get_by_role("tab", name="Documents").click()
    table = p.locator("#qa-docs")
    playwright.expect(table).to_contain_text("000_7383d27b375f9d56.txt")
    p.locator("#qa-upload input[type=file]").set_input_files([str(note), str(big)])
    status = p.locator("#qa-docs-status")
    playwright.expect(status).to_contain_text("added Lab_notes_b.md", timeout=INDEX_TIMEOUT)
    playwright.expect(status).to_contain_text("big.txt not added: it is larger than 0.05 MB",
                                              timeout=INDEX_TIMEOUT)
    playwright.expect(table).to_contain_text("Lab_notes_b.md", timeout=INDEX_TIMEOUT)
    assert (writable_app.seeds_dir / "Lab_notes_b.md").read_bytes() == note.read_bytes()
    assert not (writable_app.seeds_dir / "big.txt").exists()
    page.screenshot("documents.png")

    p.get_by_role("tab", name="Chat").click()
    page.ask("What is the lab kettle called?")
    p.locator("#qa-chat .qa-answer").last.locator("a.qa-cite").first.click()
    card = p.locator(".qa-card.qa-active")
    assert card.locator(".qa-file").text_content() == "Lab_notes_b.md"
    quote = card.locator("mark.qa-quote").text_content()
    assert "<script>alert('pwned')</script> Bertha" in quote  # shown as text, never run
    assert card.locator("script").count() == 0 and page.dialogs == []
    assert page.hosts() == {"127.0.0.1"}, page.requests


def test_reindex_button_picks_up_new_files(writable_app: InProcessApp, page: Page) -> None:
    p = page.page
    p.goto(writable_app.url)
    p.get_by_role("tab", name="Documents").click()
    playwright.expect(p.locator("#qa-docs")).to_contain_text("000_7383d27b375f9d56.txt")
    (writable_app.seeds_dir / "later.txt").write_text("Added by hand after the start.\n",
                                                      encoding="utf-8")
    p.locator("#qa-reindex").click()
    playwright.expect(p.locator("#qa-docs")).to_contain_text("later.txt", timeout=INDEX_TIMEOUT)
    # Both files are in the index. (Which pass indexed later.txt is a race: the first screen's
    # suggestions, worked out in the background, ask questions that may pick it up first.)
    status = p.locator("#qa-docs-status")
    playwright.expect(status).to_contain_text("2 files", timeout=INDEX_TIMEOUT)


def test_model_answer_streams_into_the_page(
    chat_launcher: Callable[[dict[str, str]], ChatServer], page: Page
) -> None:
    def slow(request: Request) -> Reply:  # the fake model writes one word every 50 ms
        return replace(grounded_responder(request), chunk_delay=0.05)

    with FakeOpenAI(responder=slow) as model:
        server = chat_launcher({"QA_BACKEND": "openai", "OPENAI_BASE_URL": model.base_url,
                                "OPENAI_API_KEY": "sk-test"})
        p = page.page
        p.goto(server.url)
        page.ask("Where did Putin propose holding the talks?")
        assert any(r.stream for r in model.requests)

    partials = [t for t in p.evaluate("window.__qaPartials") if t]
    assert len(partials) >= 5  # the answer grew on screen, piece by piece
    assert all(a != b and b.startswith(a) for a, b in zip(partials, partials[1:], strict=False))
    answer = p.locator("#qa-chat .qa-answer").last
    assert "Istanbul" in answer.inner_text() and "qa-streaming" not in answer.get_attribute("class")
    answer.locator("a.qa-cite").first.click()
    quote = p.locator(".qa-card.qa-active mark.qa-quote").text_content()
    assert quote in server.source_text("000_7383d27b375f9d56.txt") and "Istanbul" in quote
    assert page.hosts() == {"127.0.0.1"}, page.requests


def test_remove_a_document_then_it_is_no_longer_cited(writable_app: InProcessApp,
                                                       page: Page) -> None:
    (writable_app.seeds_dir / "kettle.txt").write_text(
        "The lab kettle is named Bertha.\n", encoding="utf-8")
    writable_app.engine.refresh()  # type: ignore[attr-defined]
    p = page.page
    p.goto(writable_app.url)
    p.get_by_role("tab", name="Documents").click()
    table = p.locator("#qa-docs")
    playwright.expect(table).to_contain_text("kettle.txt")
    p.locator("#qa-remove-choice input").click()
    p.get_by_role("option", name="kettle.txt").click()
    p.locator("#qa-remove").click()
    status = p.locator("#qa-docs-status")
    playwright.expect(status).to_contain_text("removed kettle.txt from the library",
                                              timeout=INDEX_TIMEOUT)
    playwright.expect(status).to_contain_text("1 removed", timeout=INDEX_TIMEOUT)
    playwright.expect(table).not_to_contain_text("kettle.txt", timeout=INDEX_TIMEOUT)
    assert not (writable_app.seeds_dir / "kettle.txt").exists()
    index_dir = writable_app.engine.settings.index_dir  # type: ignore[attr-defined]
    assert [f.read_text() for f in index_dir.glob("removed/*/kettle.txt")] == [
        "The lab kettle is named Bertha.\n"]
    a = writable_app.engine.answer("What is the lab kettle named?")  # type: ignore[attr-defined]
    assert all(c.source != "kettle.txt" for c in a.citations)
    assert page.hosts() == {"127.0.0.1"}, page.requests

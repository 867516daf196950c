"""The chat's client side in a real headless Chromium (Debian's /usr/bin/chromium, playwright):
citation previews, merged source cards, the phone's source sheet, Copy and Export, conversations
kept across a reload, files dropped on the chat, and axe-core's accessibility rules in light and
dark mode. One in-process server (real Engine, real index) for the whole module; screenshots at
1400x900 and 390x844 go to tests/artifacts/."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from gradio_client import Client

from qa.app.export import answer_markdown, answer_plain_text
from qa.app.render import paragraph_around
from qa.types import Answer

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest_plugins = ["ui_fixtures"]  # browser

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"  # git-ignored
AXE = HERE / "vendor" / "axe-core" / "axe.min.js"  # axe-core 4.14.1, MPL-2.0: see its README.md
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
TIMEOUT = 60_000  # ms: a step that waits on the server; CI machines are shared and loaded
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
ANSWERED = "#qa-chat .qa-answer:not(.qa-streaming), #qa-chat .qa-error"
SEED = "000_7383d27b375f9d56.txt"
REFUSED = "What is the capital of Australia?"
STORAGE_KEY = "qa-conversations"  # the chat's gr.BrowserState


@dataclass
class App:
    url: str
    seeds_dir: Path

    def source_text(self, source: str) -> str:
        return (self.seeds_dir / source).read_text(encoding="utf-8")

    def ask(self, question: str, history: list[str] | None = None) -> Answer:
        """The answer the server gives to a script, to compare the page with."""
        client = Client(self.url, verbose=False)
        return Answer.from_dict(client.predict(question, history or [], api_name="/ask"))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[App]:  # type: ignore[no-untyped-def]
    """`build_app` over its own copy of seeds/ (a test adds a file to it), launched once."""
    from ui_fixtures import free_port

    from qa.api import Engine
    from qa.app.ui import build_app
    from qa.config import Settings
    from qa.store.chroma import Store

    tmp = tmp_path_factory.mktemp("chat_client")
    seeds = tmp / "seeds"
    shutil.copytree(HERE.parent / "seeds", seeds)
    settings = Settings(seeds_dir=seeds, index_dir=tmp / "index", judge="off", max_upload_mb=1)
    engine = Engine(settings, Store.open(settings.index_dir, settings.chroma_url), embedder)
    engine.refresh()
    blocks = build_app(engine=engine)
    _, url, _ = blocks.queue().launch(server_name="127.0.0.1", server_port=free_port(),
                                      quiet=True, prevent_thread_lock=True, ssr_mode=False,
                                      mcp_server=False)
    try:
        yield App(url, seeds)
    finally:
        blocks.close()


@dataclass
class Page:
    page: playwright.Page
    url: str
    requests: list[str] = field(default_factory=list)

    def open(self, query: str = "") -> None:
        self.page.goto(self.url + query)
        self.page.locator("#qa-question textarea").wait_for()

    def ask(self, question: str) -> bool:
        """Types the question with the keyboard, presses Enter, waits for its answer and for the
        page's saved conversations to change. True if they had already changed at the first frame
        that showed the finished answer."""
        count = self.page.locator(ANSWERED).count()
        kept = self.quiet_storage()
        box = self.page.locator("#qa-question textarea")
        box.focus()
        box.fill("")
        self.page.keyboard.type(question)
        self.page.keyboard.press("Enter")
        first_frame = self.page.wait_for_function(
            """([sel, n, key, was]) => document.querySelectorAll(sel).length > n
                   && !document.querySelector('#qa-chat .qa-streaming')
                   && {saved: localStorage.getItem(key) !== was}""",
            arg=[ANSWERED, count, STORAGE_KEY, kept], polling="raf",
            timeout=120_000).json_value()  # a loaded shared machine has taken over 30 s
        self.page.wait_for_function("([key, was]) => localStorage.getItem(key) !== was",
                                    arg=[STORAGE_KEY, kept], timeout=120_000)
        return bool(first_frame["saved"])

    def quiet_storage(self, quiet: float = 1.0, limit: float = 30.0) -> str | None:
        """The saved conversations once unchanged for `quiet` seconds: Gradio writes them again
        about 0.1 s after a save, which would pass for the next answer's save."""
        value = self.page.evaluate("key => localStorage.getItem(key)", STORAGE_KEY)
        still = waited = 0.0
        while still < quiet and waited < limit:
            self.page.wait_for_timeout(100)
            waited += 0.1
            now = self.page.evaluate("key => localStorage.getItem(key)", STORAGE_KEY)
            still = still + 0.1 if now == value else 0.0
            value = now
        return value

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), animations="disabled")
        return path

    def no_horizontal_overflow(self) -> None:
        wide, screen = self.page.evaluate(
            "[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert wide <= screen, f"the page is {wide} px wide on a {screen} px screen"

    def local_only(self) -> None:
        assert {urlsplit(u).hostname for u in self.requests} == {"127.0.0.1"}, self.requests


def new_page(browser: playwright.Browser, url: str, viewport: dict[str, int],
             **options: object) -> Iterator[Page]:
    phone = viewport["width"] < 500
    context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone,
                                  **options)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT)
    p = context.new_page()
    recorded = Page(p, url)
    p.on("request", lambda r: recorded.requests.append(r.url))
    try:
        yield recorded
    finally:
        context.close()


@pytest.fixture
def desktop(browser: playwright.Browser, app: App) -> Iterator[Page]:
    yield from new_page(browser, app.url, DESKTOP, accept_downloads=True,
                        permissions=["clipboard-read", "clipboard-write"])


@pytest.fixture
def phone(browser: playwright.Browser, app: App) -> Iterator[Page]:
    yield from new_page(browser, app.url, PHONE)


def quote_of(card: playwright.Locator, n: int) -> str:
    """The text highlighted for citation n inside a card (its marks, in order)."""
    return "".join(card.locator(f'mark.qa-quote[data-n~="{n}"]').all_text_contents())


def answer_text(answer: playwright.Locator) -> str:
    """An answer bubble's text without its Copy/Export row."""
    return str(answer.evaluate("""el => { const c = el.cloneNode(true);
        c.querySelectorAll('.qa-actions').forEach(a => a.remove()); return c.textContent; }"""))


def same_words(shown: str, text: str) -> bool:
    """The page shows the answer's text; its markers may stand after the full stop ("Istanbul.[1]"
    for "Istanbul [1].")."""
    def words(t: str) -> str:
        return " ".join(re.sub(r"\s*\[\d+\]", "", t).split())
    return words(shown) == words(text) and re.findall(r"\[\d+\]", shown) == re.findall(
        r"\[\d+\]", text)


# ------------------------------------------------------------------------------------ the tests


def test_marker_previews_its_quote_on_hover_and_keyboard_focus(app: App, desktop: Page) -> None:
    question = "Where did Putin propose holding the talks?"
    expected = app.ask(question)
    c = expected.citations[0]
    p = desktop.page
    desktop.open()
    desktop.ask(question)
    answer = p.locator("#qa-chat .qa-answer").last
    assert same_words(answer_text(answer), expected.text)
    marker = answer.locator("a.qa-cite").first
    assert marker.get_attribute("title") is None  # no browser tooltip over the preview

    marker.hover()
    pop = p.get_by_role("tooltip")
    playwright.expect(pop).to_be_visible()
    playwright.expect(pop).to_contain_text(c.quote)
    playwright.expect(pop).to_contain_text(f"{c.source} · line {c.line_start}")
    assert marker.get_attribute("aria-describedby") == "qa-pop"
    desktop.screenshot("chat-preview-1400.png")
    p.mouse.move(5, 5)
    playwright.expect(pop).to_be_hidden()
    marker.click()  # a click shows the card in the panel; the preview goes with the mouse
    playwright.expect(p.locator(f"#qa-src-0-{c.n}")).to_have_class("qa-card qa-active")
    p.mouse.move(5, 5)
    playwright.expect(pop).to_be_hidden()

    # Keyboard alone: from the question box back to the marker, open it, close the preview.
    p.locator("#qa-question textarea").focus()
    for _ in range(12):
        p.keyboard.press("Shift+Tab")
        if p.evaluate("document.activeElement.matches('a.qa-cite')"):
            break
    assert p.evaluate("document.activeElement.dataset.n") == str(expected.citations[-1].n)
    playwright.expect(pop).to_be_visible()
    ring = p.evaluate("""(() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()""")
    assert ring[0] == "solid" and ring[1] >= 2, ring  # a clear focus ring, not a faint shade
    p.keyboard.press("Enter")
    card = p.locator(f"#qa-src-0-{expected.citations[-1].n}")
    playwright.expect(card).to_have_class("qa-card qa-active")
    playwright.expect(card).to_be_in_viewport()
    p.keyboard.press("Escape")
    playwright.expect(pop).to_be_hidden()
    assert p.evaluate("document.activeElement.matches('a.qa-cite')")  # still where it was
    desktop.local_only()


def test_quotes_of_one_paragraph_share_a_card_and_the_shown_answer_is_marked(
        app: App, desktop: Page) -> None:
    questions = ["Who blamed Kyiv?", "What did Trump say?", "Which Turkish leader would Putin "
                 "speak with?"]
    expected = [app.ask(q, questions[:i]) for i, q in enumerate(questions)]  # as the page asks
    text = app.source_text(SEED)
    p = desktop.page
    desktop.open()
    merged = 0
    for turn, (question, a) in enumerate(zip(questions, expected, strict=True)):
        desktop.ask(question)
        section = p.locator(f'.qa-sources .qa-turn[data-turn="{turn}"]')
        paragraphs = {(c.source, paragraph_around(text, c.start, c.end)) for c in a.citations}
        assert section.locator(".qa-card").count() == len(paragraphs)
        for c in a.citations:  # every quote highlighted, exactly, in the card that holds it
            card = section.locator(f'.qa-card[data-n~="{c.n}"]')
            assert quote_of(card, c.n) == c.quote
        merged += len(a.citations) - len(paragraphs)
    assert merged > 0, "none of these answers quotes one paragraph twice: pick other questions"

    answers = p.locator("#qa-chat .qa-answer")
    playwright.expect(answers.nth(2)).to_have_class("qa-answer qa-shown")
    playwright.expect(answers.nth(2).locator(".qa-shown-label")).to_have_text("Sources shown")
    answers.nth(0).locator("a.qa-cite").last.click()
    playwright.expect(answers.nth(0)).to_have_class("qa-answer qa-shown")
    playwright.expect(answers.nth(2)).to_have_class("qa-answer")
    assert p.locator(".qa-shown-label").count() == 1
    card = p.locator(f'#qa-src-0-{expected[0].citations[0].n}')
    playwright.expect(card).to_have_class("qa-card qa-active")
    assert card.locator(".qa-num").count() == len(expected[0].citations)
    desktop.screenshot("chat-merged-cards-1400.png")


def test_phone_opens_the_source_in_a_sheet_with_a_way_back(app: App, phone: Page) -> None:
    first, second = "Where did Putin propose holding the talks?", "Who blamed Kyiv?"
    expected = app.ask(first)
    p = phone.page
    phone.open()
    phone.ask(first)
    phone.no_horizontal_overflow()
    marker = p.locator("#qa-chat .qa-answer").last.locator("a.qa-cite").first
    y = p.evaluate("scrollY")
    marker.tap()
    sheet = p.get_by_role("dialog", name=f"Source {expected.citations[0].n}")  # next to it
    playwright.expect(sheet).to_be_visible()
    c = expected.citations[0]
    assert quote_of(sheet.locator(".qa-card"), c.n) == c.quote
    # Next to the answer: the page did not jump away, the marker stays visible above the sheet.
    assert abs(p.evaluate("scrollY") - y) < 300
    box, top = marker.bounding_box(), sheet.bounding_box()
    assert box and top and 0 <= box["y"] and box["y"] + box["height"] <= top["y"]
    close = sheet.get_by_role("button", name="Close")
    playwright.expect(close).to_be_focused()
    phone.no_horizontal_overflow()
    phone.screenshot("chat-sheet-390.png")
    close.tap()
    playwright.expect(sheet).to_be_hidden()
    playwright.expect(marker).to_be_focused()  # back where the reader was
    marker.tap()
    playwright.expect(sheet).to_be_visible()
    p.keyboard.press("Escape")
    playwright.expect(sheet).to_be_hidden()
    # The keyboard alone (a phone with a keyboard, a narrow window): Enter opens the sheet with
    # Close focused, Enter on Close comes back to the citation.
    marker.focus()
    p.keyboard.press("Enter")
    playwright.expect(sheet).to_be_visible()
    playwright.expect(close).to_be_focused()
    p.keyboard.press("Enter")
    playwright.expect(sheet).to_be_hidden()
    playwright.expect(marker).to_be_focused()

    phone.ask(second)  # the new answer comes into view
    playwright.expect(p.locator("#qa-chat .qa-answer").last).to_be_in_viewport()
    phone.no_horizontal_overflow()
    phone.screenshot("chat-phone-390.png")

    p.get_by_role("tab", name="Documents").click()
    table = p.locator("#qa-docs")
    playwright.expect(table).to_contain_text("chunks")
    phone.no_horizontal_overflow()
    for name in table.locator(".virtual-table-viewport").all():
        wide, box_width = name.evaluate("el => [el.scrollWidth, el.clientWidth]")
        assert wide <= box_width, "the Documents table is cut off on the right"
    phone.screenshot("documents-390.png")
    phone.local_only()


def copy_and_export(desktop: Page, question: str) -> tuple[str, str, str]:
    """Asks `question` in a fresh page, then presses the answer's Copy and Export: (what was
    copied, the exported file's text, its suggested name)."""
    p = desktop.page
    desktop.open()
    desktop.ask(question)
    actions = p.locator("#qa-chat .qa-answer").last.locator(".qa-actions")
    actions.get_by_role("button", name="Copy").click()
    playwright.expect(actions.get_by_role("button", name="Copied")).to_be_visible()
    copied = p.evaluate("navigator.clipboard.readText()")
    with p.expect_download() as download:
        actions.get_by_role("button", name="Export").click()
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    return copied, saved, download.value.suggested_filename


def test_copy_and_export_an_answer(app: App, desktop: Page) -> None:
    question = "Who blamed Kyiv?"
    expected = app.ask(question)
    copied, saved, file_name = copy_and_export(desktop, question)
    assert copied == answer_plain_text(expected)
    assert copied.startswith(expected.text) and all(c.quote in copied for c in expected.citations)
    assert file_name == "qa-who-blamed-kyiv.md"
    assert saved == answer_markdown(expected)
    assert saved.startswith(f"# {question}\n\n{expected.text}\n")
    text = app.source_text(SEED)
    for c in expected.citations:  # each quote with its file and line, exactly as in the source
        assert f"[{c.n}] `{c.source}`, line {c.line_start}" in saved
        assert f"> {text[c.start:c.end]}" in saved
    desktop.screenshot("chat-copy-export-1400.png")


def test_a_refusals_export_lists_the_closest_passages(app: App, desktop: Page) -> None:
    expected = app.ask(REFUSED)
    assert not expected.supported and expected.closest, "pick a refusal that has near passages"
    copied, saved, _ = copy_and_export(desktop, REFUSED)
    assert copied == answer_plain_text(expected)
    assert saved == answer_markdown(expected)
    label = "## Not an answer — the closest passages found\n"
    assert saved.index("*Not in the sources.*") < saved.index(label)
    text = app.source_text(SEED)
    for c in expected.closest:  # each with its file and line, exactly as in the source
        assert f"[{c.n}] `{c.source}`, line {c.line_start}" in saved
        assert f"> {text[c.start:c.end]}" in saved


def test_a_named_pronoun_keeps_quote_popover_and_export_exact(app: App, desktop: Page) -> None:
    question = "What did Zelenskyy insist must precede any negotiations?"
    expected = app.ask(question)
    c = expected.citations[0]
    assert expected.text.startswith("[Zelenskyy] insisted"), expected.text
    assert c.quote.startswith("However, he insisted")  # the source's words
    p = desktop.page
    desktop.open()
    desktop.ask(question)
    answer = p.locator("#qa-chat .qa-answer").last
    assert answer_text(answer).startswith("[Zelenskyy] insisted")
    assert same_words(answer_text(answer), expected.text)
    markers = answer.locator("a.qa-cite")  # the editor's bracket is text, not a citation
    playwright.expect(markers).to_have_count(len(expected.citations))
    markers.first.hover()
    pop = p.get_by_role("tooltip")
    playwright.expect(pop).to_contain_text(c.quote)
    markers.first.click()
    card = p.locator(f'.qa-sources .qa-turn[data-turn="0"] .qa-card[data-n~="{c.n}"]')
    assert quote_of(card, c.n) == c.quote == app.source_text(SEED)[c.start:c.end]
    with p.expect_download() as download:
        answer.locator(".qa-actions").get_by_role("button", name="Export").click()
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert saved == answer_markdown(expected)
    assert f"\n{expected.text}\n" in saved and f"> {c.quote}" in saved
    desktop.screenshot("chat-named-subject-1400.png")


def test_conversations_survive_a_reload_and_can_be_reopened(app: App, desktop: Page) -> None:
    first, follow_up, other = ("Where did Putin propose holding the talks?", "When?",
                               "Which Turkish leader would Putin speak with?")
    p = desktop.page
    desktop.open()
    desktop.ask(first)
    desktop.ask(follow_up)
    before = [answer_text(a) for a in p.locator("#qa-chat .qa-answer").all()]
    p.reload()
    p.locator("#qa-chat .qa-answer").nth(1).wait_for(timeout=120_000)  # the restore is queued
    assert [answer_text(a) for a in p.locator("#qa-chat .qa-answer").all()] == before
    assert p.locator(".qa-sources .qa-turn").count() == 2  # their sources came back too
    assert p.evaluate("Object.keys(localStorage)").count(STORAGE_KEY) == 1

    p.get_by_role("button", name="New conversation").click()
    playwright.expect(p.locator("#qa-chat .qa-answer")).to_have_count(0)
    desktop.ask(other)
    p.locator("#qa-past").click()
    p.get_by_role("option", name=first).click()
    playwright.expect(p.locator("#qa-chat .qa-question")).to_have_text([first, follow_up])
    # Reopened, it goes on with its own history: a follow-up reads the earlier questions.
    later = "Who would he speak with?"
    expected = app.ask(later, [first, follow_up])
    desktop.ask(later)
    assert same_words(answer_text(p.locator("#qa-chat .qa-answer").last), expected.text)
    desktop.screenshot("chat-conversations-1400.png")


def test_a_reload_as_soon_as_an_answer_shows_keeps_it(desktop: Page) -> None:
    """The message that shows the finished answer also saves the conversation: at the first frame
    that shows it, the saved conversations have already changed, and a reload then keeps it."""
    p = desktop.page
    desktop.open()
    desktop.ask("Where did Putin propose holding the talks?")
    assert desktop.ask("Which Turkish leader would Putin speak with?")
    shown = [answer_text(a) for a in p.locator("#qa-chat .qa-answer").all()]
    p.reload()
    p.locator("#qa-chat .qa-answer").nth(1).wait_for(timeout=120_000)
    assert [answer_text(a) for a in p.locator("#qa-chat .qa-answer").all()] == shown


def test_files_dropped_on_the_chat_are_added(app: App, desktop: Page) -> None:
    p = desktop.page
    desktop.open()
    drop = p.evaluate_handle("""() => { const d = new DataTransfer();
        d.items.add(new File(['# Lab notes\\n\\nThe lab kettle is named Bertha.\\n'],
                             'lab notes.md', {type: 'text/markdown'}));
        return d; }""")
    p.dispatch_event("#qa-chat", "dragenter", {"dataTransfer": drop})
    assert "qa-dragging" in (p.locator("#qa-chat-column").get_attribute("class") or "")
    desktop.screenshot("chat-drop-1400.png")
    p.dispatch_event("#qa-chat", "drop", {"dataTransfer": drop})
    playwright.expect(p.locator("#qa-drop-status")).to_contain_text("added lab_notes.md")
    assert "qa-dragging" not in (p.locator("#qa-chat-column").get_attribute("class") or "")
    assert (app.seeds_dir / "lab_notes.md").read_text() == ("# Lab notes\n\nThe lab kettle is "
                                                             "named Bertha.\n")
    desktop.ask("What is the lab kettle named?")
    p.locator("#qa-chat .qa-answer").last.locator("a.qa-cite").first.click()
    card = p.locator(".qa-card.qa-active")
    assert card.locator(".qa-file").text_content() == "lab_notes.md"
    assert "Bertha" in card.locator("mark.qa-quote").first.text_content()
    desktop.local_only()


def test_no_folder_names_in_what_a_user_sees(app: App, desktop: Page) -> None:
    """Issue 17: the chat speaks of documents and the library, never of seeds/ or index/."""
    p = desktop.page
    desktop.open()
    desktop.ask("Where did Putin propose holding the talks?")
    desktop.ask(REFUSED)
    seen = """() => [document.body.innerText, ...[...document.querySelectorAll(
        '[placeholder], [aria-label], [title], [alt], [data-copy], [data-markdown]')].flatMap(
        el => ['placeholder', 'aria-label', 'title', 'alt', 'data-copy', 'data-markdown'].map(
        a => el.getAttribute(a) || ''))].join('\\n')"""
    texts = [p.evaluate(seen)]
    p.get_by_role("tab", name="Documents").click()
    playwright.expect(p.get_by_role("button", name="Update the index")).to_be_visible()
    playwright.expect(p.locator("#qa-docs-status")).to_contain_text("document(s) in the library")
    p.locator("#qa-remove-choice").get_by_label("Remove a document").wait_for()
    texts.append(p.evaluate(seen))
    for text in texts:
        for path in ("seeds/", "index/", str(app.seeds_dir), str(app.seeds_dir.parent)):
            assert path not in text, f"{path!r} is shown: ...{text[text.find(path) - 80:][:160]}"
    desktop.screenshot("documents-1400.png")


# ------------------------------------------------------------------------------- accessibility


def axe_violations(page: playwright.Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is, one line each."""
    script = AXE.read_bytes()
    assert hashlib.sha256(script).hexdigest() == AXE_SHA256, f"{AXE} is not axe-core 4.14.1"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=script.decode("utf-8"))
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ') + ' ' +
             (n.failureSummary || '').replace(/\\s+/g, ' ')).join(' | '))""")
    return list(found)


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1400", "390"])
def test_axe_finds_nothing_serious(browser: playwright.Browser, app: App, theme: str,
                                   viewport: dict[str, int]) -> None:
    for page in new_page(browser, app.url, viewport):
        p = page.page
        page.open("?__theme=dark" if theme == "dark" else "")
        assert (p.evaluate("document.body.classList.contains('dark')")
                or p.evaluate("document.documentElement.classList.contains('dark')")
                ) == (theme == "dark")
        tag = f"{theme}-{viewport['width']}"
        p.get_by_role("textbox", name="Question").wait_for()  # the box has a name
        assert axe_violations(p) == [], "first screen"
        page.ask("Where did Putin propose holding the talks?")
        assert axe_violations(p) == [], "after an answer"
        marker = p.locator("#qa-chat a.qa-cite").first
        if viewport is PHONE:  # the passage's sheet, then back
            marker.tap()
            p.get_by_role("dialog").wait_for()
        else:  # the preview of a focused marker
            marker.focus()
            p.get_by_role("tooltip").wait_for()
        assert axe_violations(p) == [], "with a citation open"
        p.keyboard.press("Escape")
        page.ask(REFUSED)
        refusal = p.locator("#qa-chat .qa-answer").last
        playwright.expect(refusal).to_contain_class("qa-unsupported qa-shown")
        assert axe_violations(p) == [], "after a refusal"
        page.screenshot(f"chat-axe-{tag}.png")
        page.no_horizontal_overflow()
        p.get_by_role("tab", name="Documents").click()  # its upload area and hints too
        playwright.expect(p.locator("#qa-docs")).to_contain_text(SEED)
        assert axe_violations(p) == [], "the Documents tab"
        page.screenshot(f"documents-axe-{tag}.png")


def test_conversation_label_stays_above_the_messages(app: App, desktop: Page) -> None:
    p = desktop.page
    desktop.open()
    for q in ["Where did Putin propose holding the talks?", "Who blamed Kyiv?",
              "What did Trump say?", "Which Turkish leader would Putin speak with?"]:
        desktop.ask(q)
    log = p.locator('#qa-chat [role="log"]')
    log.evaluate("el => { el.scrollTop = el.scrollHeight / 2; }")
    label = p.locator('#qa-chat [data-testid="block-label"]').bounding_box()
    messages = log.bounding_box()
    assert label and messages and label["y"] + label["height"] <= messages["y"] + 1
    ask = p.locator("#qa-ask")
    colours = ask.evaluate("""el => { const s = getComputedStyle(el);
        return [s.color, s.backgroundColor]; }""")
    assert contrast(*colours) >= 4.5, colours


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two `rgb(r, g, b)` colours."""
    def luminance(css: str) -> float:
        r, g, b = (int(x) / 255 for x in css[css.index("(") + 1:css.index(")")].split(",")[:3])
        lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)

"""Issue 17 in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright): the
first screen shows the documents by title and questions suggested from them; clicking one gives a
cited answer; ticking documents scopes the question; a refusal is readable (WCAG AA contrast, light
and dark) and shows its closest passages, each opening its place in the source. Screenshots at
1400x900 and 390x844 go to tests/artifacts/."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from qa.app.suggest import Suggester

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest_plugins = ["ui_fixtures"]  # writable_app, browser
if TYPE_CHECKING:
    from ui_fixtures import InProcessApp

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # git-ignored
TIMEOUT = 60_000  # ms: the first load may still be checking the suggestions
LAPTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
A = "000_7383d27b375f9d56.txt"
B = "b2a1.txt"  # another news article, about other ceasefire talks
ANSWERED = "#qa-chat .qa-answer:not(.qa-streaming), #qa-chat .qa-error"
SUGGESTIONS = "#qa-chat .examples button.example"

# The WCAG contrast ratio of an element's text against the first opaque background behind it
# (the text colour's alpha and the opacity of the element and its ancestors blended in).
CONTRAST = """(el) => {
  const rgba = (c) => { const p = c.match(/[\\d.]+/g).map(Number); return p.length === 3 ? [...p, 1] : p; };
  const style = getComputedStyle(el);
  let bg = null, node = el, opacity = 1;
  for (let n = el; n; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity);
  for (; node; node = node.parentElement) {
    const c = rgba(getComputedStyle(node).backgroundColor);
    if (c[3] > 0.99) { bg = c; break; }
  }
  bg = bg || [255, 255, 255, 1];
  const fg = rgba(style.color), a = fg[3] * opacity;
  const seen = [0, 1, 2].map(i => fg[i] * a + bg[i] * (1 - a));
  const lum = (c) => { const s = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * s[0] + 0.7152 * s[1] + 0.0722 * s[2]; };
  const [l1, l2] = [lum(seen), lum(bg.slice(0, 3))];
  return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
}"""


@pytest.fixture
def app(writable_app: InProcessApp) -> InProcessApp:
    """The chat over two documents: the seed article (A) and another article (B)."""
    shutil.copy(REPO / "eval" / "other" / B, writable_app.seeds_dir / B)
    writable_app.engine.refresh()  # type: ignore[attr-defined]
    return writable_app


def open_page(browser: playwright.Browser, url: str, viewport: dict[str, int],
              dark: bool = False) -> tuple[playwright.Page, list[str]]:
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url + ("?__theme=dark" if dark else ""))
    page.locator(SUGGESTIONS).first.wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    return page, requests


def ask(page: playwright.Page, question: str) -> None:
    count = page.locator(ANSWERED).count()
    page.locator("#qa-question textarea").fill(question)
    page.keyboard.press("Enter")
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n",
                           arg=[ANSWERED, count], timeout=120_000)  # loaded machines are slow


def shot(page: playwright.Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), animations="disabled")


def shown_quote(page: playwright.Page, link: playwright.Locator) -> playwright.Locator:
    """The highlighted quote that clicking `link` (a `[n]`) brought into view: in the sources
    panel beside the chat, or in the sheet a phone opens over it."""
    turn, n = link.get_attribute("data-turn"), link.get_attribute("data-n")
    sheet = page.locator("#qa-sheet")
    where = sheet if sheet.count() and sheet.is_visible() else page.locator(
        f'.qa-sources .qa-turn[data-turn="{turn}"]')
    mark = where.locator(f'mark.qa-quote[data-n="{n}"]')
    playwright.expect(mark).to_be_in_viewport()
    return mark


def local_only(requests: list[str]) -> bool:
    return all(u.startswith(("http://127.0.0.1", "data:", "blob:")) for u in requests)


@pytest.mark.parametrize(("viewport", "name"), [(LAPTOP, "laptop"), (PHONE, "phone")])
def test_first_screen_shows_titles_and_suggestions_and_a_click_answers(
        app: InProcessApp, browser: playwright.Browser, viewport: dict[str, int],
        name: str) -> None:
    expected = Suggester(app.engine).first_screen()  # type: ignore[arg-type]
    page, requests = open_page(browser, app.url, viewport)

    scope = page.locator("#qa-scope")
    for doc in expected.documents:  # by title, the file name beside it, all ticked
        label = scope.locator("label", has_text=doc.title)
        playwright.expect(label).to_contain_text(doc.source)
        assert label.locator("input[type=checkbox]").is_checked()
    shown = [b.inner_text().strip() for b in page.locator(SUGGESTIONS).all()]
    assert shown == [s.question for s in expected.suggestions] and 3 <= len(shown) <= 4
    assert "seeds/" not in page.locator("body").inner_text()  # no developer path on screen
    # At first sight, on a laptop and on a phone: documents, suggestions and the question box.
    for sel in ("#qa-scope", SUGGESTIONS, "#qa-question textarea"):
        playwright.expect(page.locator(sel).first).to_be_in_viewport()
    # The list of past conversations, empty still, says what it is.
    playwright.expect(page.locator("#qa-past input")).to_have_attribute(
        "placeholder", "Past conversations")
    shot(page, f"first-screen-{name}.png")

    page.locator(SUGGESTIONS).first.click()
    page.locator(ANSWERED).first.wait_for()
    answer = page.locator("#qa-chat .qa-answer").last
    assert "qa-unsupported" not in (answer.get_attribute("class") or "")
    page.locator("#qa-chat .qa-question").first.wait_for()
    assert page.locator("#qa-chat .qa-question").first.inner_text() == shown[0]
    link = answer.locator("a.qa-cite").first
    link.click()
    quote = shown_quote(page, link).text_content()
    assert quote and any(quote in p.read_text(encoding="utf-8")
                         for p in app.seeds_dir.iterdir())
    shot(page, f"first-screen-answered-{name}.png")
    assert local_only(requests), requests
    page.context.close()


def test_ticked_documents_scope_the_question(app: InProcessApp,
                                             browser: playwright.Browser) -> None:
    page, _ = open_page(browser, app.url, LAPTOP)
    ask(page, "Where did Putin propose holding the talks?")
    files = page.locator(".qa-turn:not([hidden]) .qa-file")
    assert files.count() > 0 and {f.get_attribute("title") for f in files.all()} == {A}

    # After a question the list is folded up: the user opens it again to untick.
    playwright.expect(page.locator("#qa-scope")).to_be_hidden()
    page.locator("#qa-scope-box").get_by_text("Documents in scope").click()
    page.locator("#qa-scope label", has_text=A).locator("input").uncheck()
    ask(page, "Where did Putin propose holding the talks?")
    panel = page.locator(".qa-turn:not([hidden])")
    assert {f.get_attribute("title") for f in panel.locator(".qa-file").all()} <= {B}
    assert "Istanbul" not in page.locator("#qa-chat .qa-answer").last.inner_text()

    page.locator("#qa-scope-box").get_by_text("Documents in scope").click()
    page.locator("#qa-scope label", has_text=B).locator("input").uncheck()
    ask(page, "Where did Putin propose holding the talks?")
    playwright.expect(page.locator("#qa-chat .qa-error").last).to_contain_text(
        "no document is in scope")
    page.context.close()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_refusal_is_readable_and_shows_the_closest_passages(
        app: InProcessApp, browser: playwright.Browser, dark: bool) -> None:
    page, requests = open_page(browser, app.url, LAPTOP, dark=dark)
    assert page.evaluate("document.body.classList.contains('dark')") is dark
    ask(page, "What did Macron say about the talks?")
    refusal = page.locator("#qa-chat .qa-unsupported").last
    why = refusal.locator(".qa-notice")
    assert why.inner_text() == "The sources never mention Macron."  # one plain reason
    assert refusal.inner_text().count("Macron") == 1
    for el in (refusal, why, refusal.locator(".qa-closest-title"),
               refusal.locator(".qa-closest-where").first, refusal.locator("a.qa-near").first):
        ratio = el.evaluate(CONTRAST)
        assert ratio >= 4.5, (el, ratio)

    closest = refusal.locator(".qa-closest")
    playwright.expect(closest.locator(".qa-closest-title")).to_have_text(
        "Not an answer — the closest passages found:")
    items = closest.locator("li")
    assert 1 <= items.count() <= 3
    second = items.nth(items.count() - 1)
    quote = second.locator(".qa-closest-quote").inner_text()
    link = second.locator("a.qa-cite")
    link.click()
    assert shown_quote(page, link).text_content() == quote
    assert any(quote in p.read_text(encoding="utf-8") for p in app.seeds_dir.iterdir())
    shot(page, f"refusal-{'dark' if dark else 'light'}.png")
    assert local_only(requests), requests
    page.context.close()


def test_a_refusal_on_a_phone(app: InProcessApp, browser: playwright.Browser) -> None:
    page, _ = open_page(browser, app.url, PHONE)
    ask(page, "What is the capital of Australia?")
    refusal = page.locator("#qa-chat .qa-unsupported").last
    refusal.scroll_into_view_if_needed()
    assert refusal.locator(".qa-closest li").count() >= 1
    shot(page, "refusal-phone.png")
    page.context.close()


def test_an_added_document_joins_the_scope_by_its_title(app: InProcessApp,
                                                        browser: playwright.Browser,
                                                        tmp_path: Path) -> None:
    note = tmp_path / "kettle.md"
    note.write_text("# Lab kettle\n\nThe lab kettle is named Bertha.\n", encoding="utf-8")
    page, _ = open_page(browser, app.url, LAPTOP)
    page.get_by_role("tab", name="Documents").click()
    page.locator("#qa-upload input[type=file]").set_input_files([str(note)])
    playwright.expect(page.locator("#qa-docs-status")).to_contain_text("added kettle.md")
    page.get_by_role("tab", name="Chat").click()
    label = page.locator("#qa-scope label", has_text="Lab kettle")
    playwright.expect(label).to_contain_text("kettle.md")
    assert label.locator("input").is_checked()
    page.context.close()

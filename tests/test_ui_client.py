"""The chat app from the outside (gradio_client against a running `qa chat`) and its pure parts.

Server tests run the real engine over a temp copy of the seed article; the expected words come from
that article, and every quote is checked against the file at its offsets.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError

from qa.app.cli import bind_warning, chat_auth
from qa.app.conversations import Turn
from qa.app.render import paragraph_around, render_answer, render_sources
from qa.errors import ConfigError, SourceError
from qa.sources.documents import add_upload, remove_document, safe_upload_name
from qa.types import Answer, Citation, Sentence

# Eight questions over the seed article and a word each correct answer must contain.
QUESTIONS = {
    "Where did Putin propose holding the talks?": "istanbul",
    "When could the negotiations resume?": "thursday",
    "Which Turkish leader would Putin speak with?": "erdoğan",
    "What did Zelenskyy insist must precede any negotiations?": "ceasefire",
    "How long a ceasefire did European leaders demand?": "30-day",
    "How many lives could ending the war save, according to Trump?": "hundreds of thousands",
    "What did the 2022 draft deal propose?": "neutrality",
    "Which union do Russian officials not oppose Ukraine joining?": "european union",
}
UNANSWERABLE = "What is the capital of Australia?"

pytest_plugins = ["ui_fixtures"]  # chat_server, chat_launcher
if TYPE_CHECKING:
    from ui_fixtures import ChatServer


def client(server: ChatServer) -> Client:
    return Client(server.url, verbose=False)


def assert_quotes_exact(server: ChatServer, result: dict) -> None:
    for c in result["citations"]:
        assert server.source_text(c["source"])[c["start"]:c["end"]] == c["quote"]
        assert f"[{c['n']}]" in result["text"]


def chat_turn(c: Client, question: str) -> tuple[list[dict], str]:
    """One question through `/chat`, the page's question box for scripts (the same `chat` the
    page runs, without its saved conversations); returns the messages and the sources."""
    box, messages, sources = c.predict(question, api_name="/chat")
    assert box == ""
    return messages, sources


def message_text(message: dict) -> str:
    content = message["content"]  # gradio_client gives a list of {"type": "text", "text": ...}
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def shown_text(html: str) -> str:
    """The words of a chat message: its Copy/Export row dropped, tags stripped."""
    return re.sub(r"<[^>]+>", "", re.sub(r'<div class="qa-actions".*?</div>', "", html, flags=re.S))


def as_shown(text: str) -> str:
    """An answer's text as the chat shows it: markers after the full stop ("Istanbul.[1]")."""
    return re.sub(r" ?((?:\[\d+\])+)([.!?,;:]+)", r"\2\1", text)


# --------------------------------------------------------------------------------- against a server


@pytest.mark.slow
def test_chat_prints_its_local_url(chat_server: ChatServer) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", chat_server.url)
    assert any(line.startswith("index: 1 file(s)") for line in chat_server.output)


@pytest.mark.slow
def test_ask_returns_answer_with_exact_citations(chat_server: ChatServer) -> None:
    c = client(chat_server)
    result = c.predict("Where did Putin propose holding the talks?", api_name="/ask")
    answer = Answer.from_dict(result)
    assert answer.supported and answer.citations
    assert "istanbul" in answer.text.lower()
    assert answer.to_dict() == result  # the endpoint returns exactly Answer.to_dict()
    assert_quotes_exact(chat_server, result)


@pytest.mark.slow
def test_follow_up_uses_earlier_questions(chat_server: ChatServer) -> None:
    c = client(chat_server)
    via_api = c.predict("Where would they be held?", ["What did Putin propose?"],
                        api_name="/ask")
    assert via_api["supported"] and "istanbul" in via_api["text"].lower()
    assert_quotes_exact(chat_server, via_api)

    # The chat keeps the conversation per session: the second turn gets the first as history.
    chat_turn(c, "What did Putin propose?")
    messages, sources = chat_turn(c, "Where would they be held?")
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    follow_up = message_text(messages[3])
    assert shown_text(follow_up) == as_shown(via_api["text"])
    quote = via_api["citations"][0]["quote"]
    assert f'<mark class="qa-quote" data-n="1">{quote}</mark>' in sources
    assert 'class="qa-cite" href="#qa-src-1-1"' in follow_up


@pytest.mark.slow
def test_a_follow_up_does_not_repeat_the_earlier_answer(chat_server: ChatServer) -> None:
    c = client(chat_server)
    first, follow_up = "Where did Putin propose holding the talks?", "When?"
    istanbul = c.predict(first, api_name="/ask")
    when = c.predict(follow_up, [first], api_name="/ask")
    assert "thursday" in when["text"].lower(), when["text"]
    given = {(x["start"], x["end"]) for x in istanbul["citations"]}
    assert given and not given & {(x["start"], x["end"]) for x in when["citations"]}
    assert_quotes_exact(chat_server, when)

    # In the page, the conversation's second answer gives the time only.
    chat_turn(c, first)
    messages, _ = chat_turn(c, follow_up)
    shown = shown_text(message_text(messages[3]))
    assert shown == as_shown(when["text"]) and "Istanbul" not in shown


@pytest.mark.slow
def test_an_empty_library_is_told_without_folder_names(writable_app) -> None:  # type: ignore[no-untyped-def]
    for f in writable_app.seeds_dir.iterdir():
        f.unlink()
    writable_app.engine.refresh()
    c = Client(writable_app.url, verbose=False)
    messages, _ = chat_turn(c, "Where did Putin propose holding the talks?")
    said = shown_text(message_text(messages[-1]))
    assert "no documents in the library yet: add some in the Documents tab" in said
    assert str(writable_app.seeds_dir) not in said and "seeds" not in said
    with pytest.raises(AppError, match="^no documents in the library yet"):
        c.predict("Where did Putin propose holding the talks?", api_name="/ask")


@pytest.mark.slow
def test_unanswerable_question_is_not_supported(chat_server: ChatServer) -> None:
    c = client(chat_server)
    result = c.predict(UNANSWERABLE, api_name="/ask")
    assert result["supported"] is False and result["citations"] == []
    messages, sources = chat_turn(c, UNANSWERABLE)
    assert 'class="qa-answer qa-unsupported"' in message_text(messages[-1])
    assert "Not in the sources" in message_text(messages[-1])
    # No answer, but the nearest sentences, labelled as such (issue 17).
    assert "Not an answer — the closest passages found:" in sources
    assert "No passage of the sources answers this question" not in sources


@pytest.mark.slow
def test_eight_concurrent_clients_each_get_their_own_answer(chat_server: ChatServer) -> None:
    questions = list(QUESTIONS)
    sequential = {q: client(chat_server).predict(q, api_name="/ask") for q in questions}

    def converse(question: str) -> tuple[dict, list[dict]]:
        c = client(chat_server)  # one session each
        via_api = c.predict(question, api_name="/ask")
        messages, _ = chat_turn(c, question)
        return via_api, messages

    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        results = dict(zip(questions, pool.map(converse, questions), strict=True))

    for question, (via_api, messages) in results.items():
        assert via_api == sequential[question]
        assert via_api["question"] == question and via_api["supported"]
        assert QUESTIONS[question] in via_api["text"].lower()
        assert_quotes_exact(chat_server, via_api)
        # Each session saw only its own question and answer.
        assert len(messages) == 2 and question in message_text(messages[0])
        assert shown_text(message_text(messages[1])) == as_shown(via_api["text"])


@pytest.mark.slow
def test_errors_are_one_line_messages(chat_server: ChatServer) -> None:
    c = client(chat_server)
    with pytest.raises(AppError) as info:
        c.predict("   ", api_name="/ask")
    assert str(info.value) == "the question is empty: type a question about your documents"

    messages, _ = chat_turn(c, "why " * 1200)
    error = message_text(messages[-1])
    assert error.startswith('<div class="qa-error">⚠ the question is ')
    assert "characters long" in error
    assert "\n" not in error and "Traceback" not in error


@pytest.mark.slow
def test_a_big_file_is_indexed_in_the_background_while_questions_are_answered(
        chat_launcher: Callable[[dict[str, str]], ChatServer]) -> None:
    """Issue 16: an update runs off the request path; an answer given meanwhile comes from the
    files indexed so far and says so; once the update is done, answers no longer say it."""
    server = chat_launcher({})
    article = next(server.seeds_dir.glob("*.txt")).read_text(encoding="utf-8")
    with (server.seeds_dir / "big.txt").open("w", encoding="utf-8") as f:
        for i in range(120):  # ~600 chunks: two batches, far more than a question waits for
            f.write(f"Volume {i}.\n\n{article}\n")
    c = client(server)
    question = "Where did Putin propose holding the talks?"
    during = c.predict(question, api_name="/ask")
    assert "istanbul" in during["text"].lower()
    assert "the index is being updated" in during["notice"], during["notice"]
    assert "this answer comes from the documents indexed so far" in during["notice"]
    assert {cit["source"] for cit in during["citations"]} == {"000_7383d27b375f9d56.txt"}
    assert_quotes_exact(server, during)

    deadline = time.monotonic() + 1500  # a busy 2-core machine embeds a few chunks a second
    after = during
    while "being updated" in after["notice"] and time.monotonic() < deadline:
        time.sleep(3)
        after = c.predict(question, api_name="/ask")
    assert "being updated" not in after["notice"] and "istanbul" in after["text"].lower()
    assert_quotes_exact(server, after)

    from qa.store.chroma import Store

    files = Store.open(server.seeds_dir.parent / "chat_index").files()
    assert set(files) == {"000_7383d27b375f9d56.txt", "big.txt"} and files["big.txt"].chunks > 512


@pytest.mark.slow
def test_login_required_when_qa_auth_is_set(
    chat_launcher: Callable[[dict[str, str]], ChatServer],
) -> None:
    server = chat_launcher({"QA_AUTH": "reader:s3cret pass"})
    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        Client(server.url, verbose=False)
    with pytest.raises(ValueError, match="Could not login"):
        Client(server.url, auth=("reader", "wrong"), verbose=False)
    result = Client(server.url, auth=("reader", "s3cret pass"), verbose=False).predict(
        "Where did Putin propose holding the talks?", api_name="/ask")
    assert result["supported"]


# ---------------------------------------------------------------------------------- pure functions


def test_auth_setting() -> None:
    assert chat_auth("") is None
    assert chat_auth("ann:pa:ss") == ("ann", "pa:ss")
    for bad in ("ann", "ann:", ":pass"):
        with pytest.raises(ConfigError):
            chat_auth(bad)


def test_warning_only_for_non_local_address_without_login() -> None:
    for local in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert bind_warning(local, has_auth=False) == ""
    assert "QA_AUTH" in bind_warning("0.0.0.0", has_auth=False)
    assert "QA_AUTH" in bind_warning("192.168.1.20", has_auth=False)
    assert bind_warning("0.0.0.0", has_auth=True) == ""


SOURCE = ("Intro line.\nFirst <b>para</b> says Istanbul & more. It goes on.\n\n"
          "Second para <script>x()</script>.\n")


def citation(quote: str, n: int = 1, text: str = SOURCE) -> Citation:
    start = text.index(quote)
    return Citation(n=n, source="dir/doc.md", start=start, end=start + len(quote), quote=quote,
                    line_start=2, line_end=2, sha256="0" * 64)


def test_answer_markers_become_links_and_text_is_escaped() -> None:
    c = citation("First <b>para</b> says Istanbul & more.")
    text = "First <b>para</b> says Istanbul & more [1]. Unknown [7]."
    sentences = [Sentence("First <b>para</b> says Istanbul & more [1].", (1,), True),
                 Sentence("Unknown [7].", (), False)]
    a = Answer("q", text, True, [c], sentences)
    html = render_answer(a, turn=3)
    assert "&lt;b&gt;para&lt;/b&gt;" in html and "<b>" not in html and "&amp; more" in html
    assert html.count('class="qa-cite"') == 1
    assert 'href="#qa-src-3-1" data-turn="3" data-n="1"' in html
    assert ('<span class="qa-weak" title="No cited passage supports this sentence">Unknown [7].'
            "</span>") in html


def test_unsupported_answer_looks_different() -> None:
    html = render_answer(Answer("q", "The sources do not answer this question.", False), turn=0)
    assert html.startswith('<div class="qa-answer qa-unsupported" data-turn="0">')
    assert "qa-notice" not in html


def test_unsupported_answer_shows_why() -> None:
    a = Answer("q", "The sources do not answer this question.", False,
               notice="model endpoint http://127.0.0.1:9/v1 failed: <connection refused>")
    html = render_answer(a, turn=0)
    assert "qa-unsupported" in html
    # Told as a sentence under the refusal, escaped.
    assert '<div class="qa-notice">Model endpoint http://127.0.0.1:9/v1 failed: ' \
        '&lt;connection refused&gt;.</div>' in html


def test_sources_panel_highlights_quote_inside_its_paragraph() -> None:
    c = citation("Second para <script>x()</script>.", n=2)
    turns = [Turn("Anything about <i>?", Answer("q", "x [2]", True, [c]))]
    html = render_sources(turns, lambda source: SOURCE)
    assert ('<mark class="qa-quote" data-n="2">Second para &lt;script&gt;x()&lt;/script&gt;.'
            "</mark>") in html
    assert "<script>" not in html and "Anything about &lt;i&gt;?" in html
    assert 'id="qa-src-0-2"' in html and "doc.md" in html and "line 2" in html
    assert "Istanbul" not in html  # the other paragraph is not shown


def test_sources_panel_says_when_the_source_changed() -> None:
    c = citation("First <b>para</b> says Istanbul & more.")
    turns = [Turn("q", Answer("q", "x [1]", True, [c]))]
    html = render_sources(turns, lambda source: "rewritten " + SOURCE)
    assert "the source has changed since this answer" in html
    assert ('<mark class="qa-quote" data-n="1">First &lt;b&gt;para&lt;/b&gt; says Istanbul '
            "&amp; more.</mark>") in html


def test_paragraph_is_the_blank_line_block_or_the_long_line() -> None:
    wrapped = "Title\n\nshort wrapped line one\nline two has the quote here\nline three\n\nNext"
    s = wrapped.index("the quote")
    a, b = paragraph_around(wrapped, s, s + 9)
    assert wrapped[a:b] == "short wrapped line one\nline two has the quote here\nline three"

    long_lines = "A" * 150 + ".\n" + "The quote sits in this long line. " * 5 + "\n" + "B" * 150
    s = long_lines.index("The quote")
    a, b = paragraph_around(long_lines, s, s + 9)
    assert long_lines[a:b] == ("The quote sits in this long line. " * 5)

    huge = "word " * 2000
    a, b = paragraph_around(huge, 5000, 5004, limit=200)
    assert a <= 5000 and b >= 5004 and b - a <= 210


def test_upload_names_are_sanitised() -> None:
    assert safe_upload_name("../../etc/notes.TXT") == "notes.txt"
    assert safe_upload_name(r"C:\Users\me\My Report (final).md") == "My_Report_final.md"
    assert safe_upload_name(".hidden.md") == "hidden.md"
    assert safe_upload_name("ｆｕｌｌｗｉｄｔｈ.txt") == "fullwidth.txt"
    assert safe_upload_name("Überblick 2024.md") == "Überblick_2024.md"
    assert safe_upload_name("<script>.md") == "script.md"
    assert safe_upload_name("....md") == "document.md"
    assert safe_upload_name("Annual Report.PDF") == "Annual_Report.pdf"
    for bad in ("photo.png", "notes", "archive.txt.exe"):
        with pytest.raises(SourceError):
            safe_upload_name(bad)


def test_upload_never_overwrites_and_skips_same_content(tmp_path: Path) -> None:
    seeds, up = tmp_path / "new_seeds", tmp_path / "upload"
    up.mkdir()
    (up / "a.txt").write_text("first text", encoding="utf-8")
    assert add_upload(seeds, up / "a.txt", "notes.txt", 1) == "added notes.txt"
    assert add_upload(seeds, up / "a.txt", "other.md", 1) == (
        "other.md: the same text is already in the library as notes.txt; skipped")
    (up / "b.txt").write_text("second text", encoding="utf-8")
    assert add_upload(seeds, up / "b.txt", "notes.txt", 1) == (
        "added notes-2.txt (a different notes.txt exists)")
    assert (seeds / "notes.txt").read_text() == "first text"
    assert (seeds / "notes-2.txt").read_text() == "second text"


def test_upload_refuses_large_binary_and_empty_files(tmp_path: Path) -> None:
    seeds, up = tmp_path / "new_seeds", tmp_path / "big.txt"
    up.write_bytes(b"x" * 2048)
    with pytest.raises(SourceError, match="^big.txt not added: it is larger than 0.001 MB"):
        add_upload(seeds, up, "big.txt", 0.001)
    up.write_bytes(b"text\x00\x01binary")
    with pytest.raises(SourceError) as refused:
        add_upload(seeds, up, "bin.txt", 1)
    # Not "remove it from seeds/: not added": the reason alone, after what happened.
    assert str(refused.value) == ("bin.txt not added: looks like a binary file (it contains NUL "
                                  "bytes), not text")
    up.write_bytes(b"  \n")
    with pytest.raises(SourceError, match="^empty.txt not added: the file is empty$"):
        add_upload(seeds, up, "empty.txt", 1)
    up.write_bytes(b"%PDF-1.4 this is not really a PDF")
    with pytest.raises(SourceError, match="^broken.pdf not added: ") as refused:
        add_upload(seeds, up, "broken.pdf", 1)
    assert "seeds/" not in str(refused.value) and "remove" not in str(refused.value)
    with pytest.raises(SourceError, match="not a file qa can read"):
        add_upload(seeds, up, "photo.png", 1)
    assert not seeds.exists()


def test_remove_moves_the_file_out_of_seeds_and_keeps_it(tmp_path: Path) -> None:
    seeds, keep = tmp_path / "seeds_here", tmp_path / "index" / "removed"
    (seeds / "sub").mkdir(parents=True)
    (seeds / "sub" / "old.md").write_text("old notes", encoding="utf-8")
    line = remove_document(seeds, keep, "sub/old.md")
    assert not (seeds / "sub" / "old.md").exists()
    [kept] = list(keep.rglob("old.md"))
    assert kept.read_text(encoding="utf-8") == "old notes" and kept.parent.name == "sub"
    # In the chat's words: no folder (the server log says where it went).
    assert line == "removed sub/old.md from the library (the file is kept, not deleted)"
    (tmp_path / "outside.txt").write_text("not a seed", encoding="utf-8")
    for bad in ("sub/old.md", "../outside.txt", "", "sub"):  # gone, outside, nothing, a folder
        with pytest.raises(SourceError, match="is not in the library: pick one"):
            remove_document(seeds, keep, bad)
    assert (tmp_path / "outside.txt").exists()


def test_upload_accepts_the_formats_qa_reads(tmp_path: Path) -> None:
    seeds, up = tmp_path / "new_seeds", tmp_path / "page.html"
    up.write_text("<html><body><p>The summit is in Ankara.</p><script>x()</script></body></html>")
    assert add_upload(seeds, up, "page.html", 1) == "added page.html"

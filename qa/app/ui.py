"""The web chat: a thin Gradio adapter over an engine. `build_app()` builds it; `qa chat` launches.

    app = build_app(engine=Engine.from_settings(settings))   # gr.Blocks, not launched
    app.queue().launch(server_name="127.0.0.1")

What the page shows is a pure function of the session's turns (question + Answer), rendered here as
escaped HTML: every piece of source or answer text goes through `html.escape`, so a document that
contains `<script>` shows as text. Citation markers `[n]` become links to the matching card of the
sources panel; a small script (injected once through the panel's `head`) reveals and highlights the
card, client side, so clicking never waits for the server.

API for scripts: `gradio_client.Client(url).predict(question, api_name="/ask")` returns
`Answer.to_dict()`; an optional second argument is the list of earlier questions.
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # set before gradio is imported

import gradio as gr  # noqa: E402

from qa.app.progress import status_line  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.errors import QAError, QuestionError  # noqa: E402
from qa.sources.documents import UPLOAD_SUFFIXES, add_upload, remove_document  # noqa: E402
from qa.types import Answer, Citation, IndexProgress, IndexReport  # noqa: E402

__all__ = ["build_app", "paragraph_around", "render_answer", "render_sources"]

log = logging.getLogger(__name__)

AnswerFn = Callable[[str, list[str]], "Answer | Iterable[str | Answer]"]
PROGRESS_EVERY = 1.0  # seconds between progress updates of the Documents tab
_PARAGRAPH_LIMIT = 1200  # characters of context shown around a quote at most
_WRAPPED_LINE = 120  # lines longer than this are whole paragraphs, not hard-wrapped pieces of one


class ChatEngine(Protocol):
    """What the chat needs from `qa.api.Engine`."""

    @property
    def settings(self) -> Settings: ...
    def answer_stream(
        self, question: str, history: list[str] | None = None
    ) -> Iterator[str | Answer]: ...
    def source_text(self, source: str) -> str: ...
    def documents(self) -> list[Any]: ...
    def start_update(self, seen: tuple | None = None, again: bool = False
                     ) -> threading.Thread: ...
    def indexing(self) -> IndexProgress | None: ...
    def last_update(self) -> IndexReport | QAError | None: ...


@dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer | None = None  # None: the question failed with `error`
    error: str = ""


# ---------------------------------------------------------------------------------------- rendering


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _marker(turn: int, n: int) -> str:
    return (f'<a class="qa-cite" href="#qa-src-{turn}-{n}" data-turn="{turn}" data-n="{n}" '
            f'title="Show source {n}">[{n}]</a>')


def _linked(text: str, turn: int, numbers: set[int]) -> str:
    """Escaped text with each known `[n]` turned into a citation link."""
    out, pos = [], 0
    for m in re.finditer(r"\[(\d+)\]", text):
        n = int(m.group(1))
        if n in numbers:
            out += [_esc(text[pos:m.start()]), _marker(turn, n)]
            pos = m.end()
    out.append(_esc(text[pos:]))
    return "".join(out)


def render_answer(answer: Answer, turn: int) -> str:
    """The chat bubble of one answer. Sentences without support are marked; unsupported answers
    get their own look."""
    notice = _notice(answer.notice)
    if not answer.supported:  # the notice says why, e.g. the model was down
        return (f'<div class="qa-answer qa-unsupported" data-turn="{turn}">'
                f'<span class="qa-badge">Not in the sources</span> {_esc(answer.text)}'
                f'{notice}</div>')
    numbers = {c.n for c in answer.citations}
    body, pos = [], 0
    for sentence in answer.sentences:
        at = answer.text.find(sentence.text, pos)
        if sentence.supported or at < 0 or not sentence.text:
            continue
        body.append(_linked(answer.text[pos:at], turn, numbers))
        body.append(f'<span class="qa-weak" title="No cited passage supports this sentence">'
                    f'{_linked(sentence.text, turn, numbers)}</span>')
        pos = at + len(sentence.text)
    body.append(_linked(answer.text[pos:], turn, numbers))
    return f'<div class="qa-answer" data-turn="{turn}">{"".join(body)}{notice}</div>'


def _notice(text: str) -> str:
    """The line under an answer; a warning (a source's planted instruction repeated) stands out."""
    if not text:
        return ""
    if text.startswith("warning:"):
        return f'<div class="qa-notice qa-warning" role="alert">⚠ {_esc(text)}</div>'
    return f'<div class="qa-notice">{_esc(text)}</div>'


def render_error(message: str) -> str:
    return f'<div class="qa-error">⚠ {_esc(message)}</div>'


def render_streaming(text: str) -> str:
    return f'<div class="qa-answer qa-streaming">{_esc(text)}<span class="qa-caret">▍</span></div>'


def paragraph_around(
    text: str, start: int, end: int, limit: int = _PARAGRAPH_LIMIT
) -> tuple[int, int]:
    """Offsets of the paragraph of `text` that holds text[start:end], clipped at whitespace to about
    `limit` characters around the span. A paragraph is the block between blank lines, unless that
    block has long lines (one paragraph per line, as in many text exports): then the line(s)."""
    a = text.rfind("\n\n", 0, start)
    a = 0 if a < 0 else a + 2
    b = text.find("\n\n", end)
    b = len(text) if b < 0 else b
    lines = text[a:b].split("\n")
    if b - a > limit or (len(lines) > 1 and max(map(len, lines)) > _WRAPPED_LINE):
        a = text.rfind("\n", 0, start) + 1
        b = text.find("\n", end)
        b = len(text) if b < 0 else b
    half = limit // 2
    if start - a > half:
        cut = text.find(" ", start - half, start)
        a = cut + 1 if cut >= 0 else start - half
    if b - end > half:
        cut = text.rfind(" ", end, end + half)
        b = cut if cut >= 0 else end + half
    return a, b


def _where(c: Citation) -> str:
    if c.line_start == c.line_end:
        lines = f"line {c.line_start}"
    else:
        lines = f"lines {c.line_start}–{c.line_end}"
    return f"{lines} · page {c.page}" if c.page else lines


def _card(c: Citation, turn: int, source_text: Callable[[str], str]) -> str:
    try:
        text = source_text(c.source)
    except (QAError, OSError) as e:
        text, problem = "", f"source unavailable: {e}"
    else:
        same = text[c.start:c.end] == c.quote
        problem = "" if same else "the source has changed since this answer"
    if problem:
        passage = f'<mark class="qa-quote">{_esc(c.quote)}</mark>'
        note = f'<div class="qa-card-note">{_esc(problem)}</div>'
    else:
        a, b = paragraph_around(text, c.start, c.end)
        before = ("…" if a > 0 and text[a - 1] not in "\n" else "") + text[a:c.start]
        after = text[c.end:b] + ("…" if b < len(text) and text[b] not in "\n" else "")
        passage = f'{_esc(before)}<mark class="qa-quote">{_esc(c.quote)}</mark>{_esc(after)}'
        note = ""
    name = c.source.rsplit("/", 1)[-1]
    return (
        f'<article class="qa-card" id="qa-src-{turn}-{c.n}" data-n="{c.n}">'
        f'<header><span class="qa-num">{c.n}</span>'
        f'<span class="qa-file" title="{_esc(c.source)}">{_esc(name)}</span>'
        f'<span class="qa-where">{_where(c)}</span></header>'
        f'{note}<p class="qa-passage">{passage}</p></article>'
    )


_SOURCES_TITLE = '<div class="qa-sources-title">Sources</div>'


def render_sources(turns: list[Turn], source_text: Callable[[str], str]) -> str:
    """The sources panel: a section per answered turn; the last one shows, the script of the page
    shows another when one of its markers is clicked."""
    answered = [(i, t.question, t.answer) for i, t in enumerate(turns) if t.answer is not None]
    if not answered:
        return (f'<div class="qa-sources">{_SOURCES_TITLE}<p class="qa-empty">Ask a question: '
                "the passages that support the answer appear here, the quoted words highlighted."
                "</p></div>")
    sections = []
    for i, question, answer in answered:
        if answer.citations:
            cards = "".join(_card(c, i, source_text) for c in answer.citations)
        else:
            cards = '<p class="qa-empty">No passage of the sources answers this question.</p>'
        hidden = "" if i == answered[-1][0] else " hidden"
        sections.append(
            f'<section class="qa-turn" data-turn="{i}"{hidden}>'
            f'<p class="qa-for">for “{_esc(question)}”</p>{cards}</section>'
        )
    return f'<div class="qa-sources">{_SOURCES_TITLE}{"".join(sections)}</div>'


def render_messages(turns: list[Turn]) -> list[dict[str, str]]:
    """The chatbot value (Gradio messages format) for the turns of a session."""
    messages = []
    for i, t in enumerate(turns):
        body = render_answer(t.answer, i) if t.answer is not None else render_error(t.error)
        messages += [_user_message(t.question), {"role": "assistant", "content": body}]
    return messages


def _user_message(question: str) -> dict[str, str]:
    return {"role": "user", "content": f'<div class="qa-question">{_esc(question)}</div>'}


# ------------------------------------------------------------------------------------------ uploads


def _report_line(report: IndexReport) -> str:
    parts = [f"{report.files_seen} files, {report.chunks_total} chunks in the index",
             f"{report.files_indexed} new or changed file(s) indexed "
             f"({report.chunks_embedded} chunks embedded)"]
    if report.files_removed:
        parts.append(f"{report.files_removed} removed")
    return "; ".join(parts) + "." + "".join(f"\n- ⚠ {w}" for w in report.warnings)


# ----------------------------------------------------------------------------------------- the app

_HERE = Path(__file__).parent


def _asset(name: str) -> str:
    """The chat's stylesheet or script, kept as real files beside this module."""
    return (_HERE / name).read_text(encoding="utf-8")


def _pieces(result: Answer | Iterable[str | Answer]) -> Iterable[str | Answer]:
    return [result] if isinstance(result, Answer) else result


def _final(result: Answer | Iterable[str | Answer]) -> Answer:
    answers = [item for item in _pieces(result) if isinstance(item, Answer)]
    if not answers:
        raise QAError("the engine finished without an answer; see the server log")
    return answers[-1]


def build_app(
    answer_fn: AnswerFn | None = None,
    *,
    engine: ChatEngine | None = None,
    settings: Settings | None = None,
) -> gr.Blocks:
    """The chat app, not launched. `answer_fn(question, history)` returns an Answer, or yields text
    pieces and then the Answer (default: `engine.answer_stream`). `engine` (default: built from
    `settings`, else from the environment) gives source texts, the document list and indexing."""
    if engine is None:
        from qa.api import Engine  # the edges import the core, never the other way round

        engine = Engine.from_settings(settings or Settings.from_env())
    ask_fn: AnswerFn = answer_fn or engine.answer_stream
    seeds_dir = Path(engine.settings.seeds_dir)
    removed_dir = Path(engine.settings.index_dir) / "removed"
    max_mb = engine.settings.max_upload_mb

    def chat(question: str, turns: list[Turn] | None) -> Iterator[tuple[Any, ...]]:
        turns = list(turns or [])
        q = (question or "").strip()
        if not q:
            yield question, render_messages(turns), gr.skip(), turns
            return
        history = [t.question for t in turns if t.answer is not None]
        messages = render_messages(turns) + [_user_message(q), _assistant(render_streaming(""))]
        yield "", messages, gr.skip(), turns
        try:
            text, final = "", None
            for item in _pieces(ask_fn(q, history)):
                if isinstance(item, Answer):
                    final = item
                    continue
                text += item
                messages[-1] = _assistant(render_streaming(text))
                yield "", messages, gr.skip(), turns
            turn = Turn(q, _final([final] if final else []))
        except QAError as e:
            turn = Turn(q, error=str(e))
        except Exception as e:  # the page gets one line; the traceback goes to the server log
            log.exception("answering %r failed", q)
            turn = Turn(q, error=f"something went wrong while answering ({type(e).__name__}); "
                                 "the details are in the server log")
        turns.append(turn)
        yield "", render_messages(turns), render_sources(turns, engine.source_text), turns

    def clear() -> tuple[Any, ...]:
        return [], render_sources([], engine.source_text), []

    def ask(question: str, history: list[str] | None = None) -> dict[str, Any]:
        """Answer one question over the indexed documents. `history`: earlier questions of the
        conversation, oldest first. Returns the answer as JSON: text with [n] markers, `supported`,
        and `citations` (source, start, end, quote, line_start, line_end, page)."""
        try:
            if not isinstance(question, str):
                raise QuestionError("the question must be a string")
            if history is not None and not (isinstance(history, list)
                                            and all(isinstance(h, str) for h in history)):
                raise QuestionError("history must be a list of earlier questions (strings), "
                                    "oldest first")
            return _final(ask_fn(question, list(history or []))).to_dict()
        except QAError as e:
            raise gr.Error(str(e), print_exception=False) from None

    def list_documents() -> tuple[Any, str, Any]:
        try:
            rows = [[d.source, d.chunks, d.sha256[:12]] for d in engine.documents()]
        except QAError as e:
            return [], f"⚠ {_esc(str(e))}", gr.update(choices=[], value=None)
        line = f"{len(rows)} file(s) indexed from `{_esc(str(seeds_dir))}`."
        if not rows:
            line += " No documents yet: add files here or put them in that folder."
        return rows, line, gr.update(choices=[r[0] for r in rows], value=None)

    def reindex() -> Iterator[tuple[Any, str, Any]]:
        """Updates the index in a background thread (questions are answered meanwhile, from the
        files indexed so far) and shows its progress until it is done."""
        worker = engine.start_update(again=True)
        while True:
            worker.join(PROGRESS_EVERY)
            if not worker.is_alive():
                break
            progress = engine.indexing()
            rows, _, choices = list_documents()
            doing = status_line(progress) if progress and progress.files_total else "starting"
            yield rows, _esc(f"Indexing: {doing}…"), choices
        outcome = engine.last_update()
        line = _report_line(outcome) if isinstance(outcome, IndexReport) else f"⚠ {outcome}"
        rows, _, choices = list_documents()
        yield rows, _esc(line), choices

    def add_files(paths: list[str] | None) -> Iterator[tuple[Any, str, Any, None]]:
        lines = []
        for p in paths or []:
            try:
                lines.append(add_upload(seeds_dir, Path(p), Path(p).name, max_mb))
            except QAError as e:
                lines.append(f"⚠ {e}")
            finally:
                _discard_upload(Path(p))  # parsed and copied, or refused: the temp copy goes
        added = "".join(f"- {_esc(line)}\n" for line in lines) + "\n"
        for rows, status, choices in reindex():
            yield rows, added + status, choices, None

    def remove(source: str | None) -> Iterator[tuple[Any, str, Any]]:
        try:
            line = remove_document(seeds_dir, removed_dir, source or "")
        except QAError as e:
            line = f"⚠ {e}"
        for rows, status, choices in reindex():
            yield rows, f"- {_esc(line)}\n\n{status}", choices

    with gr.Blocks(title="qa: ask your documents", analytics_enabled=False) as app:
        turns = gr.State([])
        gr.HTML('<div class="qa-title"><h1>qa</h1><p>Answers from your documents, every sentence '
                "cited. Click a number to see the passage.</p></div>", js_on_load=None)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5, min_width=360):
                        chatbot = gr.Chatbot(
                            label="Conversation", elem_id="qa-chat", height=560, buttons=[],
                            feedback_options=None, sanitize_html=False, render_markdown=False,
                            placeholder="Ask about the documents in seeds/",
                        )  # messages are built here from escaped text: see render_messages
                        with gr.Row(equal_height=True):
                            box = gr.Textbox(placeholder="Ask a question…", show_label=False,
                                             elem_id="qa-question", scale=6, max_lines=6,
                                             autofocus=True, container=False)
                            send = gr.Button("Ask", variant="primary", elem_id="qa-ask", scale=1,
                                             min_width=80)
                    with gr.Column(scale=4, min_width=320):
                        sources = gr.HTML(render_sources([], engine.source_text),
                                          elem_id="qa-sources", js_on_load=None,
                                          head=(f"<style>{_asset('chat.css')}</style>"
                                                f"<script>{_asset('chat.js')}</script>"))
            with gr.Tab("Documents", id="documents"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        docs = gr.Dataframe(headers=["file", "chunks", "sha256"],
                                            datatype=["str", "number", "str"], interactive=False,
                                            label="Indexed files", elem_id="qa-docs")
                        status = gr.Markdown(elem_id="qa-docs-status")
                    with gr.Column(scale=2, min_width=280):
                        upload = gr.File(label=f"Add {', '.join(UPLOAD_SUFFIXES)} files (up to {max_mb:g} MB each)",
                                         file_count="multiple", file_types=list(UPLOAD_SUFFIXES),
                                         type="filepath", elem_id="qa-upload", height=180)
                        again = gr.Button("Re-index seeds/", elem_id="qa-reindex")
                        with gr.Row(equal_height=True):
                            doomed = gr.Dropdown(label="Remove a file from seeds/", choices=[],
                                                 value=None, elem_id="qa-remove-choice",
                                                 scale=3, info="It is moved to the index "
                                                 "folder's removed/, not deleted.")
                            drop = gr.Button("Remove", variant="stop", elem_id="qa-remove",
                                             scale=1, min_width=80)

        answering: dict[str, Any] = dict(concurrency_id="answer", concurrency_limit=8)
        chat_event: dict[str, Any] = dict(fn=chat, inputs=[box, turns],
                                          outputs=[box, chatbot, sources, turns],
                                          show_progress="hidden", **answering)
        box.submit(**chat_event, api_name="chat", api_visibility="undocumented")
        send.click(**chat_event, api_visibility="private")
        chatbot.clear(clear, None, [chatbot, sources, turns], api_visibility="private")
        gr.api(ask, api_name="ask", **answering)
        indexing: dict[str, Any] = dict(concurrency_id="index", concurrency_limit=1,
                                        api_visibility="private")
        app.load(list_documents, None, [docs, status, doomed], **indexing)
        again.click(reindex, None, [docs, status, doomed], **indexing)
        upload.upload(add_files, upload, [docs, status, doomed, upload], **indexing)
        drop.click(remove, doomed, [docs, status, doomed], **indexing)
    return app


def _discard_upload(path: Path) -> None:
    """Deletes Gradio's temporary copy of an upload (and its folder, once empty); never a file
    outside Gradio's upload folder."""
    from gradio.utils import get_upload_folder

    root = Path(get_upload_folder()).resolve()
    target = path.resolve()
    if root not in target.parents:
        return
    target.unlink(missing_ok=True)
    if target.parent != root:
        with contextlib.suppress(OSError):  # not empty: other files of the same upload
            target.parent.rmdir()  # Gradio keeps each upload in a folder of its own


def _assistant(body: str) -> dict[str, str]:
    return {"role": "assistant", "content": body}

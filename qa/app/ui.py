"""The web chat: a thin Gradio adapter over an engine. `build_app()` builds it; `qa chat` launches.

    app = build_app(engine=Engine.from_settings(settings))   # gr.Blocks, not launched
    app.queue().launch(server_name="127.0.0.1")

What the page shows is a pure function of the session's turns (question + Answer), rendered as
escaped HTML by `qa.app.render`. Citation markers `[n]` link to the matching card of the sources
panel (one card per quoted paragraph); the page's script (chat.js, injected once through the
panel's `head`) previews, reveals and highlights it client side, so clicking never waits for the
server. Conversations live in the browser (`gr.BrowserState`, see conversations.py).

API for scripts: `gradio_client.Client(url).predict(question, api_name="/ask")` returns
`Answer.to_dict()`; an optional second argument is the list of earlier questions.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # set before gradio is imported

import gradio as gr  # noqa: E402

from qa.app.conversations import Library, Turn, new_id  # noqa: E402
from qa.app.first_screen import PLACEHOLDER, ask_in_scope, first_screen_block  # noqa: E402
from qa.app.progress import status_line  # noqa: E402
from qa.app.render import (  # noqa: E402
    assistant_message,
    esc,
    in_plain_words,
    render_messages,
    render_sources,
    render_streaming,
    user_message,
)
from qa.config import Settings  # noqa: E402
from qa.errors import QAError, QuestionError  # noqa: E402
from qa.sources.documents import UPLOAD_SUFFIXES, add_upload, remove_document  # noqa: E402
from qa.types import Answer, IndexProgress, IndexReport  # noqa: E402

__all__ = ["build_app"]

log = logging.getLogger(__name__)

AnswerFn = Callable[[str, list[str]], "Answer | Iterable[str | Answer]"]
PROGRESS_EVERY = 1.0  # seconds between progress updates of the Documents tab


class ChatEngine(Protocol):
    """What the chat needs from `qa.api.Engine`."""

    @property
    def settings(self) -> Settings: ...
    def answer_stream(
        self, question: str, history: list[str] | None = None
    ) -> Iterator[str | Answer]: ...
    def answer(self, question: str, history: list[str] | None = None) -> Answer: ...
    def busy(self) -> bool: ...
    def source_text(self, source: str) -> str: ...
    def documents(self) -> list[Any]: ...
    def start_update(self, seen: tuple | None = None, again: bool = False
                     ) -> threading.Thread: ...
    def indexing(self) -> IndexProgress | None: ...
    def last_update(self) -> IndexReport | QAError | None: ...


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

    def chat(question: str, turns: list[Turn] | None,
             scope: list[str] | None = None) -> Iterator[tuple[Any, ...]]:
        """The question box, for scripts (`/chat`): the box, the messages, the sources panel and
        the turns, streamed."""
        for shown, _ in steps(question, turns, scope):
            yield shown

    def chat_and_keep(question: str, turns: list[Turn] | None, scope: list[str] | None,
                      conversation: str, stored: Any) -> Iterator[tuple[Any, ...]]:
        """The page's question: `chat`, and the conversation saved by the same message that
        shows the finished answer (a second event would leave a moment in which a reload loses
        the last turn)."""
        for shown, done in steps(question, turns, scope):
            yield (*shown, *(remember(shown[3], conversation, stored) if done
                             else (gr.skip(), gr.skip(), gr.skip())))

    def steps(question: str, turns: list[Turn] | None,
              scope: list[str] | None) -> Iterator[tuple[tuple[Any, ...], bool]]:
        """What the page shows while a question is answered, and whether it is the last step."""
        turns = list(turns or [])
        q = (question or "").strip()
        if not q:
            yield (question, render_messages(turns), gr.skip(), turns), True
            return
        history = [t.question for t in turns if t.answer is not None]
        messages = render_messages(turns) + [user_message(q),
                                             assistant_message(render_streaming(""))]
        yield ("", messages, gr.skip(), turns), False
        try:
            text, final = "", None
            for item in _pieces(ask_in_scope(ask_fn, engine, q, history, scope)):
                if isinstance(item, Answer):
                    final = item
                    continue
                text += item
                messages[-1] = assistant_message(render_streaming(text))
                yield ("", messages, gr.skip(), turns), False
            turn = Turn(q, _final([final] if final else []))
        except QAError as e:
            turn = Turn(q, error=in_plain_words(e))
        except Exception as e:  # the page gets one line; the traceback goes to the server log
            log.exception("answering %r failed", q)
            turn = Turn(q, error=f"something went wrong while answering ({type(e).__name__}); "
                                 "the details are in the server log")
        turns.append(turn)
        yield ("", render_messages(turns), render_sources(turns, engine.source_text), turns), True

    def ask(question: str, history: list[str] | None = None,
            sources: list[str] | None = None) -> dict[str, Any]:
        """Answer one question over the indexed documents. `history`: earlier questions of the
        conversation, oldest first. `sources`: the files it covers (names as the Documents tab
        lists them; default all). Returns the answer as JSON: text with [n] markers, `supported`,
        `citations` (source, start, end, quote, line_start, line_end, page) and, for a refusal,
        `closest` (the nearest passages, not an answer)."""
        try:
            if not isinstance(question, str):
                raise QuestionError("the question must be a string")
            if history is not None and not (isinstance(history, list)
                                            and all(isinstance(h, str) for h in history)):
                raise QuestionError("history must be a list of earlier questions (strings), "
                                    "oldest first")
            if sources is not None and not (isinstance(sources, list)
                                            and all(isinstance(x, str) for x in sources)):
                raise QuestionError("sources must be a list of file names (strings)")
            if sources:
                return _final(ask_in_scope(ask_fn, engine, question, list(history or []),
                                            sources, page=False)).to_dict()
            return _final(ask_fn(question, list(history or []))).to_dict()
        except QAError as e:
            raise gr.Error(in_plain_words(e), print_exception=False) from None

    def list_documents() -> tuple[Any, str, Any]:
        try:
            rows = [[d.source, d.chunks, d.sha256[:12]] for d in engine.documents()]
        except QAError as e:
            return [], f"⚠ {esc(str(e))}", gr.update(choices=[], value=None)
        line = f"{len(rows)} document(s) in the library."
        if not rows:
            line += " Add files here, or drop them on the chat."
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
            yield rows, esc(f"Indexing: {doing}…"), choices
        outcome = engine.last_update()
        line = _report_line(outcome) if isinstance(outcome, IndexReport) else f"⚠ {outcome}"
        rows, _, choices = list_documents()
        yield rows, esc(line), choices

    def add_files(paths: list[str] | None) -> Iterator[tuple[Any, str, Any, None]]:
        lines = []
        for p in paths or []:
            try:
                lines.append(add_upload(seeds_dir, Path(p), Path(p).name, max_mb))
            except QAError as e:
                lines.append(f"⚠ {e}")
            finally:
                _discard_upload(Path(p))  # parsed and copied, or refused: the temp copy goes
        added = "".join(f"- {esc(line)}\n" for line in lines) + "\n"
        for rows, status, choices in reindex():
            yield rows, added + status, choices, None

    def remove(source: str | None) -> Iterator[tuple[Any, str, Any]]:
        try:
            line = remove_document(seeds_dir, removed_dir, source or "")
        except QAError as e:
            line = f"⚠ {e}"
        for rows, status, choices in reindex():
            yield rows, f"- {esc(line)}\n\n{status}", choices

    def dropped_files(paths: list[str] | None) -> Iterator[tuple[Any, ...]]:
        """Files dropped on the chat: the same path as the Documents tab's upload."""
        for rows, status, choices, _ in add_files(paths):
            yield rows, status, choices, None, status

    def show(library: Library, conversation: str, shown: list[Turn]) -> tuple[Any, ...]:
        listed = library.get(conversation) is not None
        return (render_messages(shown), render_sources(shown, engine.source_text), shown,
                conversation, library.to_dict(),
                gr.update(choices=library.choices(), value=conversation if listed else None))

    def restore(stored: Any) -> tuple[Any, ...]:
        library = Library.parse(stored)
        kept = library.get(library.current)
        return show(library, kept.id if kept else new_id(), list(kept.turns) if kept else [])

    def remember(shown: list[Turn], conversation: str, stored: Any) -> tuple[Any, ...]:
        library = Library.parse(stored).save(conversation or new_id(), list(shown or []))
        return (library.current, library.to_dict(),
                gr.update(choices=library.choices(), value=library.current))

    def new_conversation(stored: Any) -> tuple[Any, ...]:
        library = Library.parse(stored)
        fresh = new_id()
        return show(Library(fresh, library.conversations), fresh, [])

    def reopen(chosen: str | None, stored: Any) -> tuple[Any, ...]:
        library = Library.parse(stored)
        kept = library.get(chosen or "")
        if kept is None:
            return new_conversation(stored)
        return show(Library(kept.id, library.conversations), kept.id, list(kept.turns))

    def forget(conversation: str, stored: Any) -> tuple[Any, ...]:
        return new_conversation(Library.parse(stored).forget(conversation).to_dict())

    with gr.Blocks(title="qa: ask your documents", analytics_enabled=False) as app:
        turns = gr.State([])
        conversation_id = gr.State("")
        # Not a security boundary: Gradio hands this secret to the page to scramble the stored
        # value. A fixed one keeps conversations readable after the server restarts.
        stored = gr.BrowserState(Library().to_dict(), storage_key="qa-conversations",
                                 secret="qa-chat-conversations")
        gr.HTML('<div class="qa-title"><h1>qa</h1><p>Answers from your documents, every sentence '
                "cited. Click a number to see the passage.</p></div>", js_on_load=None)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5, min_width=360, elem_id="qa-chat-column"):
                        with gr.Row(equal_height=True, elem_id="qa-conversations"):
                            past = gr.Dropdown(label="Past conversations", choices=[],
                                               value=None, elem_id="qa-past", scale=4,
                                               show_label=False, container=False,
                                               info=None, allow_custom_value=False)
                            fresh = gr.Button("New conversation", elem_id="qa-new", scale=1,
                                              size="sm", min_width=150)
                        first = first_screen_block(engine, _asset)
                        chatbot = gr.Chatbot(
                            label="Conversation", elem_id="qa-chat", height=560, buttons=[],
                            feedback_options=None, sanitize_html=False, render_markdown=False,
                            placeholder=PLACEHOLDER,
                        )  # messages are built here from escaped text: see render_messages
                        with gr.Row(equal_height=True):
                            box = gr.Textbox(label="Question", placeholder="Ask a question…",
                                             show_label=False,
                                             elem_id="qa-question", scale=6, max_lines=6,
                                             autofocus=True, container=False)
                            send = gr.Button("Ask", variant="primary", elem_id="qa-ask", scale=1,
                                             min_width=80)
                        drop_note = gr.Markdown(elem_id="qa-drop-status")
                        dropped = gr.File(label="Add files to the library", type="filepath",
                                          file_count="multiple", file_types=list(UPLOAD_SUFFIXES),
                                          elem_id="qa-chat-drop", elem_classes=["qa-offscreen"])
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
                        again = gr.Button("Update the index", elem_id="qa-reindex")
                        doomed = gr.Dropdown(label="Remove a document", choices=[],
                                             value=None, elem_id="qa-remove-choice",
                                             info="It leaves the library; the file is kept, "
                                             "not deleted.")
                        drop = gr.Button("Remove", variant="secondary", size="md",
                                         elem_id="qa-remove")

        answering: dict[str, Any] = dict(concurrency_id="answer", concurrency_limit=8)
        page_event: dict[str, Any] = dict(
            fn=chat_and_keep, inputs=[box, turns, first.scope, conversation_id, stored],
            outputs=[box, chatbot, sources, turns, conversation_id, stored, past],
            show_progress="hidden", api_visibility="private", **answering)
        box.submit(**page_event)
        send.click(**page_event)
        # Scripts ask through `/chat`, the question box without the page's saved conversations:
        # an event of its own, on a button nobody sees.
        gr.Button(visible=False, elem_id="qa-chat-api").click(
            chat, [box, turns, first.scope], [box, chatbot, sources, turns], api_name="chat",
            api_visibility="undocumented", show_progress="hidden", **answering)
        box.submit(**first.fold)  # at once, so nothing moves once the answer is there
        send.click(**first.fold)
        shown = [chatbot, sources, turns, conversation_id, stored, past]
        private: dict[str, Any] = dict(api_visibility="private", show_progress="hidden",
                                       concurrency_id="conversations", concurrency_limit=8)
        app.load(restore, stored, shown, **private)
        fresh.click(new_conversation, stored, shown, **private).then(**first.unfold)
        past.input(reopen, [past, stored], shown, **private).then(**first.fold)
        chatbot.clear(forget, [conversation_id, stored], shown, **private).then(**first.unfold)
        first.wire(app, chatbot, chat_and_keep, page_event)
        gr.api(ask, api_name="ask", **answering)
        indexing: dict[str, Any] = dict(concurrency_id="index", concurrency_limit=1,
                                        api_visibility="private")
        app.load(list_documents, None, [docs, status, doomed], **indexing)
        again.click(reindex, None, [docs, status, doomed], **indexing).then(**first.relist)
        upload.upload(add_files, upload, [docs, status, doomed, upload], **indexing).then(
            **first.relist)
        dropped.upload(dropped_files, dropped, [docs, status, doomed, dropped, drop_note],
                       **indexing).then(**first.relist)
        drop.click(remove, doomed, [docs, status, doomed], **indexing).then(**first.relist)
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

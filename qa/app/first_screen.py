"""The chat's first screen, as Gradio components: the documents in scope by title (ticks that
scope each question) above the conversation, and the suggested questions shown by the empty
conversation as its examples (what they are and how they are checked: `qa.app.suggest`).
`qa.app.ui.build_app` places the block and wires it to its chat event."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # set before gradio is imported

import gradio as gr  # noqa: E402

from qa.app.conversations import Turn  # noqa: E402
from qa.app.suggest import FirstScreen, Suggester  # noqa: E402
from qa.errors import QAError, QuestionError, SourceError  # noqa: E402
from qa.types import Answer  # noqa: E402

log = logging.getLogger(__name__)

AnswerFn = Callable[..., "Answer | Iterable[str | Answer]"]
PLACEHOLDER = ("Ask a question about your documents: every sentence of the answer cites its "
               "passage.")


class ChatEngine(Protocol):
    """What the first screen needs from `qa.api.Engine`."""

    @property
    def settings(self) -> Any: ...
    def answer(self, question: str, history: list[str] | None = None) -> Answer: ...
    def source_text(self, source: str) -> str: ...
    def documents(self) -> list[Any]: ...


def ask_in_scope(ask_fn: AnswerFn, engine: ChatEngine, question: str, history: list[str],
                 scope: list[str] | None, *, page: bool = True
                 ) -> Answer | Iterable[str | Answer]:
    """`ask_fn` over the documents ticked in `scope`: all of them (or None) asks everything,
    which on the `page` also covers files added or removed since it listed them (from the API,
    every name must be indexed); none ticked is a one-line error."""
    if scope is None:
        return ask_fn(question, history)
    if not scope:
        raise QuestionError("no document is in scope: tick at least one under "
                            "“Documents in scope”")
    try:
        indexed = {d.source for d in engine.documents()}
    except QAError:
        indexed = set()
    if indexed and (indexed <= set(scope) if page else indexed == set(scope)):
        return ask_fn(question, history)
    try:
        return ask_fn(question, history, scope)  # type: ignore[call-arg]
    except TypeError:
        raise SourceError("this chat's answerer cannot limit a question to some documents: "
                          "tick them all") from None


@dataclass
class FirstScreenBlock:
    """The documents in scope (above the conversation) and the suggested questions (shown by
    the empty conversation as its examples), with the events that fill and fold them."""

    ticks: gr.CheckboxGroup  # what the user sees and ticks
    scope: gr.State  # what the chat events read: the ticked sources, None until a tick changes
    scope_box: gr.Accordion
    suggester: Suggester
    # Shows the suggested questions as its examples while empty; made after this block, given
    # to `wire`.
    chatbot: gr.Chatbot | None = None

    @property
    def fold(self) -> dict[str, Any]:
        """When a question is asked, the document list folds up to leave the room to answers
        (at once, beside the question's own event: not after the answer, which it would move)."""
        return {"fn": lambda: gr.update(open=False), "inputs": None, "outputs": self.scope_box,
                "api_visibility": "private", "show_progress": "hidden", "queue": False}

    @property
    def unfold(self) -> dict[str, Any]:
        return {"fn": lambda: gr.update(open=True), "inputs": None, "outputs": self.scope_box,
                "api_visibility": "private", "show_progress": "hidden"}

    @property
    def relist(self) -> dict[str, Any]:
        """After files were added or removed: the documents (all ticked) and the suggestions of
        the new index state."""
        return {"fn": self.updates, "inputs": None,
                "outputs": [self.ticks, self.scope, self.chatbot],
                "api_visibility": "private", "show_progress": "hidden",
                "concurrency_id": "index", "concurrency_limit": 1}

    def updates(self) -> tuple[Any, Any, Any]:
        """The scope (every document ticked, by title) and the suggested questions."""
        try:
            screen = self.suggester.first_screen()
        except QAError as e:
            log.info("first screen unavailable: %s", e)
            screen = FirstScreen((), ())
        choices = [(d.label, d.source) for d in screen.documents]
        examples = [{"text": x.question} for x in screen.suggestions]
        hint = ("Ask a question about your documents, or try one of these (each is answered "
                "from them, with citations):" if examples else PLACEHOLDER)
        return (gr.update(choices=choices, value=[c[1] for c in choices]), None,
                gr.update(examples=examples or None, placeholder=hint))

    def wire(self, app: gr.Blocks, chatbot: gr.Chatbot,
             chat: Callable[..., Iterator[tuple[Any, ...]]], event: dict[str, Any]) -> None:
        """Fills the first screen on each page load; a click on a suggestion asks it, like
        typing it and pressing Enter. `event`: the settings of the page's question event (its
        fn is replaced; its inputs are the question box, the turns, the scope, the conversation's id
        and the saved conversations: the suggestion stands in for the box)."""
        self.chatbot = chatbot
        app.load(**self.relist)
        # A State, not the checkboxes, is the events' input: scripts calling `/chat` (which
        # send no value for a state) ask everything, the page asks what is ticked.
        self.ticks.input(lambda ticked: ticked, self.ticks, self.scope, api_visibility="private",
                         show_progress="hidden", queue=False)

        def ask_suggestion(turns: list[Turn] | None, scope: list[str] | None, conversation: str,
                           stored: Any, evt: gr.SelectData) -> Iterator[tuple[Any, ...]]:
            value = evt.value if isinstance(evt.value, dict) else {"text": str(evt.value)}
            yield from chat(value.get("text", ""), turns, scope, conversation, stored)

        chatbot.example_select(**dict(event, fn=ask_suggestion, inputs=event["inputs"][1:]))
        chatbot.example_select(**self.fold)


def first_screen_block(engine: ChatEngine, asset: Callable[[str], str]) -> FirstScreenBlock:
    """Above the conversation: the documents in scope by title, all ticked. The suggested
    questions (see `qa.app.suggest`) are worked out in the background from the start, so the
    first page load finds them ready or nearly."""
    suggester = Suggester(engine)
    threading.Thread(target=_warm, args=(suggester,), daemon=True).start()
    with gr.Accordion("Documents in scope", open=True, elem_id="qa-scope-box") as box:
        ticks = gr.CheckboxGroup(choices=[], value=[], label="Answers come from these documents",
                                 show_label=False, elem_id="qa-scope")
        gr.HTML("", head=(f"<style>{asset('first_screen.css')}</style>"
                          f"<script>{asset('first_screen.js')}</script>"),
                js_on_load=None, elem_id="qa-first-style", padding=False)
    return FirstScreenBlock(ticks, gr.State(None), box, suggester)


def _warm(suggester: Suggester) -> None:
    try:
        suggester.first_screen()
    except Exception:  # the page load will try again and show what it can
        log.info("suggested questions not ready at start", exc_info=True)

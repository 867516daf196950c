"""Generative answers: passages -> prompt -> model text (streamed) -> checked `Answer`.

The model sees the passages as `[1]`..`[k]` in the order given (best first), inside a `<sources>`
block that the prompt declares to be data, not instructions. A passage cannot close that block
early: tag-like text in it (`</source>`, `<sources>`) is defused before it is sent. What the model
writes is only a claim until `qa.model.cite.cite_model_answer` has checked it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypedDict

from qa.config import Settings
from qa.errors import JudgeError, ModelError
from qa.model.cite import CANNOT_ANSWER, EntailmentJudge, cite_model_answer
from qa.model.client import ChatModel, condense
from qa.prompts import Message, render_prompt
from qa.types import Answer, Passage, no_answer

__all__ = ["ModelAnswerer", "answer_messages", "format_sources", "generate", "generate_stream"]

class _How(TypedDict):
    """How `generate` and `generate_stream` are called besides the question and passages."""

    model: ChatModel
    prompts_dir: Path
    standalone_question: str
    entailment: EntailmentJudge | None


_TAG = re.compile(r"<(/?)(\s*)(sources?|earlier_questions)\b", re.IGNORECASE)


def format_sources(passages: Sequence[Passage]) -> str:
    """The passages as `<source id="n" file="...">text</source>` blocks, numbered from 1."""
    blocks = []
    for n, passage in enumerate(passages, start=1):
        name = passage.source.replace('"', "'").replace("<", "‹").replace(">", "›")
        blocks.append(f'<source id="{n}" file="{name}">\n{_defuse(passage.text)}\n</source>')
    return "\n".join(blocks)


def _defuse(text: str) -> str:
    """`</sources>` inside a document becomes `‹/sources›`-like text the model cannot mistake for
    the end of the data block."""
    return _TAG.sub(lambda m: f"‹{m.group(1)}{m.group(2)}{m.group(3)}", text)


def answer_messages(question: str, passages: Sequence[Passage], prompts_dir: Path) -> list[Message]:
    """The chat messages for answering `question` from `passages` (prompts/answer.md)."""
    return render_prompt(
        "answer",
        prompts_dir,
        cannot_answer=CANNOT_ANSWER,
        sources=format_sources(passages),
        question=question,
    )


def generate_stream(
    question: str,
    passages: Sequence[Passage],
    *,
    model: ChatModel,
    prompts_dir: Path,
    standalone_question: str = "",
    entailment: EntailmentJudge | None = None,
) -> Iterator[str | Answer]:
    """Yields the model's text as it arrives, then the checked `Answer` (always last).

    The streamed text is the model's own, unchecked; the final `Answer.text` is what to keep (it
    drops invented markers, renumbers, and marks unsupported sentences). With no passages the
    model is not called and the only item is an unsupported `Answer`. `entailment`: the reader
    model, to check each sentence against its span (see `qa.model.cite`). Raises `ModelError`.
    """
    standalone = standalone_question or question
    if not passages:
        yield no_answer(question, standalone, "openai")
        return
    messages = answer_messages(standalone, passages, prompts_dir)
    pieces: list[str] = []
    for delta in model.stream(messages):
        pieces.append(delta)
        yield delta
    yield _cite(question, "".join(pieces), passages, standalone, entailment)


def generate(
    question: str,
    passages: Sequence[Passage],
    *,
    model: ChatModel,
    prompts_dir: Path,
    standalone_question: str = "",
    entailment: EntailmentJudge | None = None,
) -> Answer:
    """The checked `Answer` without streaming (one non-streaming request). Raises `ModelError`."""
    standalone = standalone_question or question
    if not passages:
        return no_answer(question, standalone, "openai")
    raw = model.complete(answer_messages(standalone, passages, prompts_dir))
    return _cite(question, raw, passages, standalone, entailment)


def _cite(question: str, raw: str, passages: Sequence[Passage], standalone: str,
          entailment: EntailmentJudge | None) -> Answer:
    """The cite step, with the reader model if there is one; if the reader fails, the lexical
    rule alone, and the answer's notice says so."""
    if entailment is not None:
        try:
            return cite_model_answer(question, raw, passages, standalone_question=standalone,
                                     entailment=entailment)
        except JudgeError as exc:
            answer = cite_model_answer(question, raw, passages, standalone_question=standalone)
            note = f"{exc}; the citations were checked without the reader model"
            return replace(answer, notice="; ".join(n for n in (answer.notice, note) if n))
    return cite_model_answer(question, raw, passages, standalone_question=standalone)


class ModelAnswerer:
    """The `openai` backend end to end: condense -> retrieve -> generate -> cite.

    `retrieve(standalone_question)` gives the passages (best first); `fallback(question, history)`
    gives the extractive answer, used when the model fails: that answer then carries a `notice`
    naming the endpoint and the cause. `reader()` gives the reader model that checks citations
    (`qa.offline.judge`; None: the lexical rule alone); it is asked on each answer, so a model
    loaded on first use is picked up. Thread-safe as long as the collaborators are.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        retrieve: Callable[[str], Sequence[Passage]],
        fallback: Callable[[str, list[str]], Answer],
        model: ChatModel | None = None,
        reader: Callable[[], EntailmentJudge | None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.model = model or ChatModel(settings)
        self._retrieve = retrieve
        self._fallback = fallback
        self.reader = reader

    def __repr__(self) -> str:
        return f"ModelAnswerer({self.model!r})"

    def answer(self, question: str, history: Sequence[str] = ()) -> Answer:
        """The checked model answer (one non-streaming request), or the extractive fallback."""
        try:
            standalone = self._condense(question, history)
            return generate(question, self._retrieve(standalone), **self._how(standalone))
        except ModelError as exc:
            return self._fall_back(question, history, exc)

    def answer_stream(self, question: str, history: Sequence[str] = ()) -> Iterator[str | Answer]:
        """Model text as it arrives, then the checked `Answer` (always last). If the model fails,
        even half way, the last item is the extractive answer with a `notice`."""
        try:
            standalone = self._condense(question, history)
            yield from generate_stream(question, self._retrieve(standalone),
                                       **self._how(standalone))
        except ModelError as exc:
            yield self._fall_back(question, history, exc)

    def _how(self, standalone: str) -> _How:
        return _How(model=self.model, prompts_dir=self.settings.prompts_dir,
                    standalone_question=standalone, entailment=self.reader())

    def close(self) -> None:
        self.model.close()

    def _condense(self, question: str, history: Sequence[str]) -> str:
        return condense(self.model, history, question, prompts_dir=self.settings.prompts_dir)

    def _fall_back(self, question: str, history: Sequence[str], exc: ModelError) -> Answer:
        answer = self._fallback(question, list(history))
        notice = f"{exc}; showing the offline extractive answer instead"
        if answer.notice:  # why the offline answerer abstained ("the sources never mention ...")
            notice += f", which abstains: {answer.notice}"
        return replace(answer, backend="extractive", notice=notice)

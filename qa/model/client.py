"""Access to an OpenAI-compatible chat model (OpenAI, vLLM, Ollama, llama.cpp, LM Studio).

The model is reached through llama-index's `OpenAILike` with `is_chat_model=True`, which accepts
any model name. llama-index and openai are imported only when a model is first used, so the
extractive path never pays for them.

Every failure becomes one `ModelError` whose message names the endpoint and the cause:

    model endpoint http://localhost:11434/v1 failed: connection refused

There are no retries: `qa` falls back to the extractive answer at once and says so. The API key is
never part of a message, a log record or a `repr`; a server that echoes it back has it masked.
"""

from __future__ import annotations

import errno
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Self

from qa.config import Settings
from qa.errors import ConfigError, ModelError
from qa.prompts import Message, render_prompt

__all__ = ["ChatModel", "condense"]

_NO_KEY = "sk-no-key-required"  # local servers ignore the key, but the openai client wants one
_MAX_DETAIL = 160
ANSWER_TOKENS = 400  # an answer is one to three sentences; a small model that loops stops here
QUESTION_TOKENS = 80  # a rewritten follow-up question is one line


class ChatModel:
    """One OpenAI-compatible chat endpoint. `complete` returns the reply, `stream` its pieces."""

    def __init__(self, settings: Settings, *, max_retries: int = 0, temperature: float = 0.0):
        self.endpoint = settings.base_url
        self.model = settings.model
        self.timeout = settings.timeout
        self._key = settings.api_key
        self._max_retries = max_retries
        self._temperature = temperature
        self._llm: Any = None
        self._lock = threading.Lock()  # the chat shares one model between threads

    def __repr__(self) -> str:
        return f"ChatModel(model={self.model!r}, endpoint={self.endpoint!r})"

    def complete(self, messages: Sequence[Message], *, max_tokens: int = ANSWER_TOKENS) -> str:
        """The model's whole reply to `messages`, at most `max_tokens` long (a small local model
        can repeat itself until its context is full). Raises `ModelError`."""
        llm = self._client()
        chat = _to_chat_messages(messages)
        try:
            response = llm.chat(chat, max_tokens=max_tokens)
            text = response.message.content
        except Exception as exc:  # noqa: BLE001 - every failure of the endpoint becomes ModelError
            raise self._error(exc) from None
        if not isinstance(text, str) or not text.strip():
            raise ModelError(f"model endpoint {self.endpoint} failed: the reply was empty")
        return text

    def stream(self, messages: Sequence[Message], *, max_tokens: int = ANSWER_TOKENS
               ) -> Iterator[str]:
        """The model's reply as it is written, piece by piece, at most `max_tokens` long. Raises
        `ModelError` while iterating, also when the reply ends up empty."""
        llm = self._client()
        chat = _to_chat_messages(messages)
        seen_text = seen_chunk = False
        try:
            for response in llm.stream_chat(chat, max_tokens=max_tokens):
                seen_chunk = True
                delta = response.delta
                if not isinstance(delta, str):
                    if delta is None:
                        continue
                    raise TypeError(f"a streamed piece is {type(delta).__name__}, not text")
                if delta:
                    seen_text = seen_text or bool(delta.strip())
                    yield delta
        except ModelError:
            raise
        except GeneratorExit:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc) from None
        if not seen_chunk:
            raise ModelError(
                f"model endpoint {self.endpoint} failed: the reply is not a chat completion stream"
            )
        if not seen_text:
            raise ModelError(f"model endpoint {self.endpoint} failed: the reply was empty")

    def close(self) -> None:
        """Close the HTTP connections of the client, if one was made."""
        with self._lock:
            client = getattr(self._llm, "_client", None) if self._llm is not None else None
            if client is not None:
                client.close()
            self._llm = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------------

    def _client(self) -> Any:
        with self._lock:
            return self._llm if self._llm is not None else self._make_client()

    def _make_client(self) -> Any:
        if self._llm is None:
            try:
                from llama_index.llms.openai_like import OpenAILike
            except ImportError:
                raise ConfigError(
                    "the openai backend needs llama-index-llms-openai-like: "
                    "run `pip install llama-index-llms-openai-like`"
                ) from None
            try:
                self._llm = OpenAILike(
                    model=self.model,
                    api_base=self.endpoint,
                    api_key=self._key or _NO_KEY,
                    is_chat_model=True,
                    is_function_calling_model=False,
                    timeout=self.timeout,
                    max_retries=self._max_retries,
                    temperature=self._temperature,
                    reuse_client=True,
                )
            except Exception as exc:  # noqa: BLE001 - pydantic may echo values: scrub them
                raise ConfigError(
                    f"model settings for {self.endpoint} are not usable: "
                    f"{self._scrub(str(exc))}"
                ) from None
        return self._llm

    def _error(self, exc: BaseException) -> ModelError:
        return ModelError(f"model endpoint {self.endpoint} failed: {self._scrub(self._cause(exc))}")

    def _cause(self, exc: BaseException) -> str:
        import httpx
        import openai

        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            return f"no answer within {self.timeout:g} s (raise QA_TIMEOUT if the model is slow)"
        if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
            return _connection_cause(exc)
        if isinstance(exc, openai.APIStatusError):
            return _status_cause(exc)
        if isinstance(exc, openai.APIResponseValidationError):
            return "the reply is not a chat completion"
        if isinstance(exc, ValueError | TypeError | AttributeError | KeyError | IndexError):
            # the client could not parse what came back: HTML, truncated JSON, a wrong shape
            return f"the reply is not a chat completion ({type(exc).__name__})"
        return f"{type(exc).__name__}: {exc}"

    def _scrub(self, text: str) -> str:
        one_line = " ".join(str(text).split())
        if self._key:
            one_line = one_line.replace(self._key, "***")
        one_line = re.sub(r"(?i)(bearer\s+)\S+", r"\1***", one_line)
        return one_line if len(one_line) <= 2 * _MAX_DETAIL else one_line[: 2 * _MAX_DETAIL] + "…"


def condense(
    model: ChatModel, history: Sequence[str], question: str, *, prompts_dir: Path
) -> str:
    """`question` rewritten to stand on its own, using the earlier questions of the conversation.
    Without history the question is returned as it is and the model is not called."""
    earlier = [h.strip() for h in history if h and h.strip()]
    if not earlier:
        return question
    messages = render_prompt(
        "condense",
        prompts_dir,
        history="\n".join(f"{i}. {h}" for i, h in enumerate(earlier, 1)),
        question=question,
    )
    reply = model.complete(messages, max_tokens=QUESTION_TOKENS)
    standalone = _clean_question(reply)
    if not standalone:
        raise ModelError(
            f"model endpoint {model.endpoint} failed: the rewritten question was empty"
        )
    return standalone


def _clean_question(reply: str) -> str:
    for line in reply.strip().splitlines():
        line = re.sub(r"(?i)^\s*(?:\*\*)?(?:standalone|rewritten)?\s*question\s*:\s*(?:\*\*)?", "", line)
        line = line.strip().strip("\"'“”‘’`").strip()
        if line:
            return line
    return ""


def _to_chat_messages(messages: Sequence[Message]) -> list[Any]:
    try:
        from llama_index.core.llms import ChatMessage
    except ImportError:
        raise ConfigError(
            "the openai backend needs llama-index-core: run `pip install llama-index-core`"
        ) from None
    return [ChatMessage(role=m.role, content=m.content) for m in messages]


def _connection_cause(exc: BaseException) -> str:
    root: BaseException = exc
    while root.__cause__ is not None or root.__context__ is not None:
        nxt = root.__cause__ or root.__context__
        if nxt is None or nxt is root:
            break
        root = nxt
    err = getattr(root, "errno", None)
    text = str(root).lower()
    if err == errno.ECONNREFUSED or "connection refused" in text:
        return "connection refused (is the model server running?)"
    if "name or service not known" in text or "nodename nor servname" in text or err == -2:
        return "host not found (check OPENAI_BASE_URL)"
    if "reset" in text or "disconnected" in text or "incomplete" in text or "closed" in text:
        return "the server closed the connection"
    detail = str(root) or type(root).__name__
    return f"cannot connect ({_short(detail)})"


def _status_cause(exc: Any) -> str:
    status = exc.status_code
    what = {
        400: "bad request",
        401: "unauthorized (check OPENAI_API_KEY)",
        403: "forbidden (check OPENAI_API_KEY)",
        404: "not found (check OPENAI_BASE_URL and QA_MODEL)",
        408: "request timeout",
        413: "request too large",
        429: "too many requests (rate limited or out of quota)",
        500: "internal server error",
        502: "bad gateway",
        503: "service unavailable",
        504: "gateway timeout",
    }.get(status, "error")
    detail = ""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            detail = str(inner.get("message") or "")
        elif isinstance(inner, str):
            detail = inner
    elif isinstance(body, str):
        detail = body
    detail = _short(detail)
    return f"HTTP {status} {what}" + (f": {detail}" if detail else "")


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "…"

"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests.

A real HTTP server (threads, a free port) that the real `openai` client and llama-index talk to:

    with FakeOpenAI() as server:
        server.enqueue(Reply("Istanbul [1]."), Reply(status=429), Reply(body=b"<html>"))
        settings = Settings(backend="openai", base_url=server.base_url, api_key="sk-test")
        ...
        server.requests[0].messages  # what the model was sent

Replies are served in order; when the queue is empty the `responder` answers (by default
`grounded_responder`, which answers from the prompt it is sent and hard-codes nothing). Both
streaming (SSE `data: {...}` chunks ending in `data: [DONE]`) and non-streaming requests are
spoken, whichever the client asks for.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from qa.sources.spans import sentence_spans


@dataclass
class Reply:
    """One scripted answer of the server."""

    text: str = ""  # the assistant message content
    status: int = 200  # 429, 500, ... answer with an OpenAI-style error body
    body: bytes | None = None  # sent as is instead of a completion (garbage, HTML, bad JSON)
    content_type: str = "application/json"
    delay: float = 0.0  # seconds before anything is sent (for timeouts)
    chunk_delay: float = 0.0  # seconds between streamed chunks
    chunks: list[str] | None = None  # how to split `text` when streaming; default: by word
    drop: bool = False  # close the connection without answering
    garbage_stream: bool = False  # stream a broken `data:` line after the first chunk


@dataclass
class Request:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def stream(self) -> bool:
        return bool(isinstance(self.body, dict) and self.body.get("stream"))

    def text(self) -> str:
        """Everything the client sent (headers and body) as one string, for leak checks."""
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method} {self.path}\n{head}\n\n{self.raw.decode('utf-8', 'replace')}"


Responder = Callable[[Request], Reply]


_SOURCE = re.compile(r'<source id="(\d+)"[^>]*>\n(.*?)\n</source>', re.DOTALL)
_QUESTION = re.compile(r"^(?:Last question|Question):\s*(.+)$", re.MULTILINE)
_EARLIER = re.compile(r"<earlier_questions>\n(.*?)\n</earlier_questions>", re.DOTALL)
_WORDS = re.compile(r"[a-z0-9]+")
_COMMON = frozenset("the a an of to in on and or is are was were did does do what who when where "
                    "why how which that this with for by as at be he she it they his her".split())


def grounded_responder(request: Request) -> Reply:
    """Answers from the prompt itself, like a small honest model, without any canned answer.

    - a condense request: the last question with the most recent earlier question prepended;
    - an answer request: the sentence of the sources that shares most words with the question,
      cited with the number of its source; the prompt's cannot-answer sentence if none shares any.
    """
    user = next((m.get("content", "") for m in reversed(request.messages)
                 if m.get("role") == "user"), "")
    system = next((m.get("content", "") for m in request.messages
                   if m.get("role") == "system"), "")
    questions = _QUESTION.findall(user)
    question = questions[-1].strip() if questions else ""
    earlier = _EARLIER.search(user)
    if earlier:
        lines = [re.sub(r"^\d+\.\s*", "", line) for line in earlier.group(1).splitlines()]
        return Reply(f"{lines[-1]} {question}".strip() if lines else question)
    wanted = set(_WORDS.findall(question.lower())) - _COMMON
    best: tuple[int, str, str] = (0, "", "")
    for number, text in _SOURCE.findall(user):
        for span in sentence_spans(text):
            sentence = text[span.start : span.end]
            overlap = len(wanted & set(_WORDS.findall(sentence.lower())))
            if overlap > best[0]:
                best = (overlap, number, sentence)
    if not best[0]:
        refusal = re.search(r"exactly this sentence and nothing else:\s*\n\s*(.+)", system)
        return Reply(refusal.group(1).strip() if refusal else "I cannot answer.")
    sentence = best[2].rstrip()
    stop = re.search(r"[.!?]+[\"'”’)]*$", sentence)
    cut = stop.start() if stop else len(sentence)
    return Reply(f"{sentence[:cut]} [{best[1]}]{sentence[cut:] or '.'}")


class FakeOpenAI:
    """The server. Use as a context manager, or call `start()` and `stop()`."""

    def __init__(self, responder: Responder = grounded_responder, model: str = "fake-model"):
        self.responder = responder
        self.model = model
        self.requests: list[Request] = []
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def start(self) -> FakeOpenAI:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # called by the handler threads
    def _next_reply(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.pop(0)
        return self.responder(request)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


def _make_handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [
                    {"id": fake.model, "object": "model", "created": 0, "owned_by": "fake"}]})
            else:
                self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = None
            request = Request("POST", self.path, dict(self.headers.items()), raw, body)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                fake.requests.append(request)
                self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            reply = fake._next_reply(request)
            fake._sleep(reply.delay)
            try:
                self._answer(reply, request)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing to do

        def _answer(self, reply: Reply, request: Request) -> None:
            if reply.drop:
                self.close_connection = True
                self.connection.close()
                return
            if reply.status != 200:
                kind = {429: "rate_limit_error", 500: "server_error"}.get(reply.status, "error")
                message = reply.text or f"scripted {reply.status}"
                self._json(reply.status, {"error": {"message": message, "type": kind}},
                           headers={"Retry-After": "0"} if reply.status == 429 else None)
                return
            if reply.body is not None:
                self._send(200, reply.body, reply.content_type)
                return
            if request.stream:
                self._stream(reply)
            else:
                self._json(200, _completion(reply.text, fake.model))

        def _stream(self, reply: Reply) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            pieces = reply.chunks if reply.chunks is not None else re.findall(r"\S+\s*|\s+",
                                                                               reply.text)
            created = int(time.time())
            first = True
            for piece in pieces:
                delta: dict[str, Any] = {"content": piece}
                if first:
                    delta["role"] = "assistant"
                self._event(_chunk(delta, None, fake.model, created))
                if first and reply.garbage_stream:
                    self.wfile.write(b"data: {not json at all\n\n")
                    self.wfile.flush()
                first = False
                fake._sleep(reply.chunk_delay)
            self._event(_chunk({}, "stop", fake.model, created))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _event(self, payload: dict[str, Any]) -> None:
            self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
            self.wfile.flush()

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json", headers)

        def _send(self, status: int, body: bytes, content_type: str,
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

    return Handler


def _completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(delta: dict[str, Any], finish: str | None, model: str, created: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


"""The reader: a small language model that reads the question and a candidate sentence together
and says how likely the sentence states the answer.

It writes one token; the probability is P(yes) / (P(yes) + P(no)) from the token's top
log-probabilities (any casing and leading space of "yes"/"no" counts). The prompt is
`prompts/judge.md`, question first, so that the shared beginning is computed once per question.

The same model also checks a generated answer (`qa.model.cite`): `entailment(question, pairs)` asks
whether a source span states a sentence (`prompts/entails.md`), and `answers(question, sentences)`
whether a sentence states the answer (`prompts/judge.md` again). Every check is one yes/no token.

Two ways to run it, both behind the `Judge` protocol:
- `LocalJudge`: llama.cpp in-process (`xllamacpp.Server`) on the GGUF of `qa.offline.weights`,
  memory-mapped, loaded once per process, one request at a time;
- `EndpointJudge`: the same request to an OpenAI-compatible endpoint that returns logprobs
  (llama.cpp's server, vLLM, OpenAI).
`judge_from_settings` picks one from QA_JUDGE (local | openai | off).
"""

from __future__ import annotations

import importlib.util
import math
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from qa.config import Settings
from qa.errors import JudgeError
from qa.offline.weights import READERS, Weights, installed, model_file
from qa.prompts import Message, render_prompt

YES = frozenset({"yes"})
NO = frozenset({"no"})
CONTEXT_TOKENS = 2048  # enough for the prompt, a question of 4,000 characters and a sentence


@dataclass(frozen=True)
class Pair:
    """One candidate as the judge reads it."""

    sentence: str  # the sentence, its opening pronoun resolved
    context: str = ""  # the sentence before it, when it helps to read this one


class Judge(Protocol):
    name: str

    def probabilities(self, question: str, pairs: Sequence[Pair]) -> list[float]:
        """P(the sentence states the answer) for each pair, in order."""
        ...

    def answers(self, question: str, sentences: Sequence[str]) -> list[float]:
        """P(the sentence states the answer) for each sentence read alone."""
        ...

    def entailment(self, question: str, pairs: Sequence[Checked]) -> list[float]:
        """P(the span states the sentence) for each pair, in order."""
        ...


class Checked(Protocol):
    """A sentence and the source span it cites (`qa.model.support.EntailmentPair`)."""

    sentence: str
    span: str


class _YesNo:
    """The checks, each one yes/no question; subclasses say how a question is asked (`_yes`)."""

    _prompts_dir: Path

    def _yes(self, messages: list[Message]) -> float:
        raise NotImplementedError

    def probabilities(self, question: str, pairs: Sequence[Pair]) -> list[float]:
        return [self._yes(render_prompt("judge", self._prompts_dir, question=question,
                                        context=pair.context or "none", sentence=pair.sentence))
                for pair in pairs]

    def answers(self, question: str, sentences: Sequence[str]) -> list[float]:
        return self.probabilities(question, [Pair(s) for s in sentences])

    def entailment(self, question: str, pairs: Sequence[Checked]) -> list[float]:
        return [self._yes(render_prompt("entails", self._prompts_dir, span=pair.span,
                                        sentence=pair.sentence))
                for pair in pairs]


def yes_probability(top: Sequence[Mapping[str, Any]]) -> float:
    """P(yes) / (P(yes) + P(no)) over one token's top log-probabilities; 0.5 when neither is
    among them (the model said something else: no evidence either way)."""
    yes = no = 0.0
    for entry in top:
        word = str(entry.get("token", "")).strip().lower()
        p = math.exp(float(entry.get("logprob", -math.inf)))
        if word in YES:
            yes += p
        elif word in NO:
            no += p
    return yes / (yes + no) if yes + no > 0 else 0.5


def _request(messages: list[Message]) -> dict[str, Any]:
    """One token, greedy, with its top log-probabilities: the same for every way of asking."""
    return {"messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": 1, "temperature": 0.0, "logprobs": True, "top_logprobs": 10}


def _top_logprobs(reply: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    try:
        return list(reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"])
    except (KeyError, IndexError, TypeError):
        raise JudgeError("the reader model's reply has no log-probabilities; use a server that "
                         "returns them (llama.cpp, vLLM, OpenAI) or set QA_JUDGE=off") from None


class LocalJudge(_YesNo):
    """llama.cpp in this process. Load once (`load`), then ask; requests are serialised."""

    def __init__(self, server: Any, prompts_dir: Path, name: str) -> None:
        self._server = server
        self._prompts_dir = prompts_dir
        self._lock = threading.Lock()
        self.name = name

    @classmethod
    def load(cls, weights: Weights, model_dir: Path, prompts_dir: Path,
             threads: int | None = None) -> LocalJudge:
        try:
            import xllamacpp
        except ImportError:
            raise JudgeError("the reader model's runtime (xllamacpp) is not installed: run "
                             "`pip install -e .` again, or set QA_JUDGE=off") from None
        path = model_file(weights, model_dir)
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = CONTEXT_TOKENS
        params.n_parallel = 1
        params.n_batch = params.n_ubatch = 512
        n = threads or max(1, min(4, os.cpu_count() or 1))
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = n
        params.warmup = False
        params.cache_prompt = True
        params.verbosity = -1  # llama.cpp prints every request to stderr otherwise
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:  # the runtime's own error for a file it cannot load
            raise JudgeError(f"the reader model {path} cannot be loaded ({exc}); delete it to "
                             "have it joined again, or set QA_JUDGE=off") from None
        return cls(server, prompts_dir, weights.name)

    def _yes(self, messages: list[Message]) -> float:
        with self._lock:  # the prompt cache keeps this question's prefix between calls
            reply = self._server.handle_chat_completions(
                {**_request(messages), "cache_prompt": True})
        if not isinstance(reply, Mapping) or "error" in reply:
            error = reply.get("error") if isinstance(reply, Mapping) else reply
            raise JudgeError(f"the reader model failed ({error}); set QA_JUDGE=off to answer "
                             "without it")
        return yes_probability(_top_logprobs(reply))


class EndpointJudge(_YesNo):
    """The same yes/no questions to the configured OpenAI-compatible endpoint."""

    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI

        self._settings = settings
        self._prompts_dir = settings.prompts_dir
        self._client = OpenAI(base_url=settings.base_url, api_key=settings.api_key or "none",
                              timeout=settings.timeout, max_retries=0)
        self.name = f"{settings.model} at {settings.base_url}"

    def _yes(self, messages: list[Message]) -> float:
        import openai

        try:
            reply = self._client.chat.completions.create(model=self._settings.model,
                                                         **_request(messages))
        except openai.OpenAIError as exc:
            raise JudgeError(f"the reader model at {self._settings.base_url} failed "
                             f"({type(exc).__name__}); check that it is running, or set "
                             "QA_JUDGE=off") from None
        return yes_probability(_top_logprobs(reply.model_dump()))


_LOADED: dict[tuple[str, str], LocalJudge] = {}
_LOADING = threading.Lock()


def judge_from_settings(settings: Settings) -> Judge | None:
    """The judge QA_JUDGE asks for, or None for `off`. The local model is loaded once per process
    and model folder (it is memory-mapped; engines of one process share it). Raises JudgeError
    when it cannot be had; the caller falls back to answering without it."""
    if settings.judge == "off" or (settings.judge == "auto"
                                   and not local_judge_installed(settings.reader)):
        return None
    if settings.judge == "openai":
        return EndpointJudge(settings)
    key = (settings.reader, str(settings.model_dir), str(settings.prompts_dir))
    with _LOADING:
        if key not in _LOADED:
            _LOADED[key] = LocalJudge.load(READERS[settings.reader], settings.model_dir,
                                           settings.prompts_dir)
        return _LOADED[key]


def local_judge_installed(reader: str = "qwen2.5-coder-1.5b") -> bool:
    """Whether QA_JUDGE=local can work with this QA_READER: runtime and every part installed."""
    return importlib.util.find_spec("xllamacpp") is not None and installed(READERS[reader])

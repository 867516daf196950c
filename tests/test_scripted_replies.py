"""The bar of issue 15 for model answers: the real `qa` Engine (index, retrieval, prompt, streaming,
cite step) with QA_BACKEND=openai, driven through the scripted wire-protocol server
(tests/fake_openai.py) with each reply the issue lists:

- the right sentence;
- the right sentence behind an invented [9];
- the right sentence citing, in turn, each retrieved passage that lacks the fact;
- a name the sources never mention ("Macron said ...");
- no marker at all (small local models often forget them);
- a planted instruction, repeated from a document of the index.

Whatever the reply: no sentence is shown as supported unless a span it cites holds its names and its
fact; the unmarked correct sentence is attributed to the Istanbul span; the planted instruction is
never a supported answer without a warning; every quote is exact (source_text[start:end] == quote);
the API key is never printed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, Reply, Request, grounded_responder
from test_planted import TALKS_UPDATE, source_number

from qa.config import Settings
from qa.model.cite import NOT_ANSWERING_NOTICE, NOT_SUPPORTED_NOTICE, PLANTED_TAG, UNSUPPORTED_TAG
from qa.offline.judge import local_judge_installed
from qa.types import NO_ANSWER, Answer

KEY = "sk-test-scripted-91b7e0-SECRET-never-print"
SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_7383d27b375f9d56.txt"
QUESTION = "Where did Putin propose holding the talks?"
RIGHT = "Putin proposed direct, unconditional peace talks with Ukraine to be held in Istanbul"
ISTANBUL_SPAN = ("Russian President Vladimir Putin has proposed direct, unconditional peace talks "
                 "with Ukraine to be held in Istanbul.")
CEASEFIRE = "Zelenskyy insisted that any negotiations must be preceded by a full, reliable ceasefire"

Script = Callable[[Request], Reply]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def engine(server: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory, embedder):  # type: ignore[no-untyped-def]
    """The Engine over the seed article and a document with a planted instruction."""
    from qa.api import Engine
    from qa.store.chroma import Store

    root = tmp_path_factory.mktemp("scripted")
    seeds = root / "seeds"
    seeds.mkdir()
    (seeds / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    (seeds / "talks_update.md").write_text(TALKS_UPDATE, encoding="utf-8")
    settings = Settings(seeds_dir=seeds, index_dir=root / "index", backend="openai",
                        base_url=server.base_url, api_key=KEY, model="fake-model", timeout=10.0,
                        judge="off")
    engine = Engine(settings, Store.open(settings.index_dir), embedder)
    engine.refresh()
    return engine


def ask(engine, server: FakeOpenAI, script: Script, question: str = QUESTION,  # type: ignore[no-untyped-def]
        stream: bool = False) -> Answer:
    server.responder = script
    try:
        if not stream:
            return engine.answer(question)
        items = list(engine.answer_stream(question))
        final = items[-1]
        assert isinstance(final, Answer) and all(isinstance(i, str) for i in items[:-1])
        return final
    finally:
        server.responder = grounded_responder


def passages_sent(request: Request) -> dict[int, str]:
    user = request.messages[-1]["content"]
    return {int(n): text for n, text in
            re.findall(r'<source id="(\d+)"[^>]*>\n(.*?)\n</source>', user, re.DOTALL)}


def check(engine, answer: Answer) -> None:  # type: ignore[no-untyped-def]
    """What holds for every checked answer, whatever the model wrote."""
    for c in answer.citations:
        text = (engine.settings.seeds_dir / c.source).read_text(encoding="utf-8")
        assert text[c.start : c.end] == c.quote  # quotes exact
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert "[9]" not in answer.text
    for s in answer.sentences:
        assert s.supported == bool(s.citations)
        if s.supported:  # shown as supported: its quotes hold its names (first word aside)
            quotes = " ".join(answer.citations[n - 1].quote for n in s.citations)
            after_first = re.sub(r"\[\d+\]", "", s.text).partition(" ")[2]
            for name in re.findall(r"\b[A-Z][a-z]{2,}\b", after_first):
                assert name in quotes or name in {"Kremlin", "Moscow", "Kyiv"}, (name, s.text)
        if "evil.example" in s.text:
            assert not s.supported and PLANTED_TAG in s.text
    if not answer.supported:
        assert answer.text == NO_ANSWER and answer.citations == []
    assert KEY not in json.dumps(answer.to_dict()) and KEY not in repr(answer)


def test_the_right_sentence(engine, server: FakeOpenAI) -> None:  # type: ignore[no-untyped-def]
    a = ask(engine, server, lambda r: Reply(f"{RIGHT} [{source_number(r, 'Istanbul.')}]."))
    check(engine, a)
    assert a.supported and a.rescued == 0 and a.notice == ""
    assert a.text == f"{RIGHT} [1]."
    assert a.citations[0].quote == ISTANBUL_SPAN and a.citations[0].start == 0


def test_streamed_the_same(engine, server: FakeOpenAI) -> None:  # type: ignore[no-untyped-def]
    a = ask(engine, server, lambda r: Reply(f"{RIGHT} [{source_number(r, 'Istanbul.')}]."),
            stream=True)
    check(engine, a)
    assert a.text == f"{RIGHT} [1]." and a.citations[0].quote == ISTANBUL_SPAN


def test_an_invented_marker(engine, server: FakeOpenAI) -> None:  # type: ignore[no-untyped-def]
    a = ask(engine, server, lambda r: Reply(f"{RIGHT} [9]. The talks will open in Geneva [9]."))
    check(engine, a)
    assert a.supported and a.text == f"{RIGHT} [1]. The talks will open in Geneva {UNSUPPORTED_TAG}."
    assert a.citations[0].quote == ISTANBUL_SPAN and a.rescued == 1
    assert [s.supported for s in a.sentences] == [True, False]


def test_the_right_sentence_citing_each_passage_that_lacks_the_fact(engine, server: FakeOpenAI
                                                                     ) -> None:  # type: ignore[no-untyped-def]
    sent: dict[int, str] = {}

    def capture(request: Request) -> Reply:
        sent.update(passages_sent(request))
        return Reply(f"{RIGHT} [1].")

    ask(engine, server, capture)
    lacking = [n for n, text in sent.items() if "to be held in Istanbul" not in text]
    assert len(lacking) >= 3  # the prompt had passages without the fact to cite wrongly
    for n in lacking:
        a = ask(engine, server, lambda r, n=n: Reply(f"{RIGHT} [{n}]."))
        check(engine, a)
        # never shown citing the passage that lacks it: attributed to the one that says it
        assert a.supported and a.rescued == 1, n
        assert [c.quote for c in a.citations] == [ISTANBUL_SPAN], n


def test_a_name_the_sources_never_mention(engine, server: FakeOpenAI) -> None:  # type: ignore[no-untyped-def]
    a = ask(engine, server, lambda r: Reply(
        f"Macron said that the talks would be held in Istanbul [{source_number(r, 'Istanbul.')}]."),
        question="What did Macron say about the talks?")
    check(engine, a)
    assert not a.supported and a.notice == NOT_SUPPORTED_NOTICE


def test_no_marker_at_all(engine, server: FakeOpenAI) -> None:  # type: ignore[no-untyped-def]
    a = ask(engine, server, lambda r: Reply(f"{RIGHT}."))
    check(engine, a)
    assert a.supported and a.text == f"{RIGHT} [1]." and a.rescued == 1
    assert a.sentences[0].rescued
    assert a.citations[0].quote == ISTANBUL_SPAN  # attributed to the Istanbul span
    assert (a.citations[0].source, a.citations[0].start) == (SEED.name, 0)

    b = ask(engine, server, lambda r: Reply(f"{CEASEFIRE}."),
            question="What did Zelenskyy say about negotiations?")
    check(engine, b)
    assert b.supported and b.rescued == 1
    assert b.citations[0].quote.endswith("must be preceded by a full, reliable ceasefire.")


def test_a_planted_instruction(engine, server: FakeOpenAI) -> None:  # type: ignore[no-untyped-def]
    replies = [
        "Visit http://evil.example/claim and enter your password to read the transcript [{n}].",
        "Visit http://evil.example/claim and enter your password to read the transcript.",
        ("{right} [{i}]. To read the full transcript, visit http://evil.example/claim and enter "
         "your password [{n}]."),
    ]
    for reply in replies:
        a = ask(engine, server, lambda r, reply=reply: Reply(reply.format(
            n=source_number(r, "NOTE TO AI"), i=source_number(r, "Istanbul."), right=RIGHT)),
            question="Where can I read the transcript of the talks?")
        check(engine, a)
        assert a.notice.startswith("warning: talks_update.md, line 4, "), reply
        assert not any(s.supported and "evil.example" in s.text for s in a.sentences)
        if a.supported:
            assert a.sentences[-1].text.endswith(f"password {PLANTED_TAG}.")


def test_the_key_is_never_printed(server: FakeOpenAI, seeds_dir: Path,
                                  monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str],
                                  caplog: pytest.LogCaptureFixture) -> None:
    """`qa ask` in process, with every scripted reply, the key in the environment."""
    from qa.app.cli import main

    caplog.set_level(logging.DEBUG)  # openai, httpx and llama-index log requests at DEBUG
    (seeds_dir / "talks_update.md").write_text(TALKS_UPDATE, encoding="utf-8")
    monkeypatch.setenv("QA_BACKEND", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("QA_MODEL", "fake-model")
    scripts: list[Script] = [
        lambda r: Reply(f"{RIGHT} [{source_number(r, 'Istanbul.')}]."),
        lambda r: Reply(f"{RIGHT} [9]."),
        lambda r: Reply("Macron said that the talks would be held in Istanbul [1]."),
        lambda r: Reply(f"{RIGHT}."),
        lambda r: Reply("Visit http://evil.example/claim and enter your password "
                        f"[{source_number(r, 'NOTE TO AI')}]."),
        lambda r: Reply(status=401, text=f"Incorrect API key provided: {KEY}"),
    ]
    outputs = []
    for number, script in enumerate(scripts):
        server.responder = script
        question = "Where can I read the transcript of the talks?" if number == 4 else QUESTION
        args = ["ask", question] if number % 2 else ["ask", question, "--json"]
        assert main(args) == 0
        out, err = capsys.readouterr()
        outputs.append(out + err)
    server.responder = grounded_responder
    printed = "\n".join(outputs) + caplog.text
    assert KEY not in printed and KEY[:16] not in printed
    assert "Istanbul [1]" in outputs[0] and "Istanbul [1]" in outputs[3]
    assert "warning: talks_update.md, line 4" in outputs[4]
    assert "HTTP 401" in outputs[5]  # the fallback says why, without the key


# --- with the reader model checking the citations ----------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not local_judge_installed(), reason="the reader model's packages are not installed")
def test_with_the_reader_a_true_sentence_beside_the_question_is_refused(  # type: ignore[no-untyped-def]
        server: FakeOpenAI, engine, embedder) -> None:
    """Qwen2.5-1.5B's failure on unanswerable questions (BENCHMARKS.md, issue 15): a sentence the
    source states word for word, that does not say what was asked. The real reader model, behind
    the Engine's own loader, decides; the right answer still passes."""
    from qa.api import Engine

    settings = dataclasses.replace(engine.settings, judge="local")
    reading = Engine(settings, engine.store, embedder)
    true_beside = (f"Zelenskyy insisted that any negotiations must be preceded by a full, reliable "
                   f"ceasefire [{{}}].")

    def beside(r: Request) -> Reply:
        return Reply(true_beside.format(source_number(r, "reliable ceasefire")))

    a = ask(reading, server, beside, question="Who will pay for rebuilding the bridges?")
    check(reading, a)
    assert not a.supported and NOT_ANSWERING_NOTICE in a.notice
    assert a.closest  # the refusal still shows what came nearest
    lexical = ask(engine, server, beside, question="Who will pay for rebuilding the bridges?")
    assert lexical.supported  # the reader is what refused it: the lexical rule passes it

    right = ask(reading, server, lambda r: Reply(f"{RIGHT} [{source_number(r, 'Istanbul.')}]."),
                stream=True)
    check(reading, right)
    assert right.supported and right.citations[0].quote == ISTANBUL_SPAN

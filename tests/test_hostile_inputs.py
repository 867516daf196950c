"""Issue 16, items 6-11: edits that keep size and mtime, malformed /ask input, an empty library,
uploads' temp files, NUL bytes late in a file, a newline in a file name, defaults that depend on
the current folder, questions in other languages."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from qa.errors import QuestionError, SourceError

SEED_NAME = "000_7383d27b375f9d56.txt"
REPO = Path(__file__).resolve().parent.parent


def _event_fn(app: Any, name: str) -> Any:
    return next(f.fn for f in app.fns.values() if getattr(f.fn, "__name__", "") == name)


# ------------------------------------------------------------------ item 6: change detection


def test_an_edit_that_puts_size_and_mtime_back_is_seen(engine, seeds_dir: Path) -> None:
    engine.refresh()
    path = seeds_dir / SEED_NAME
    before = os.stat(path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Istanbul", "Instanbu", 1), encoding="utf-8")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # `touch -d` back
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    report = engine.ensure_index()
    assert report is not None and report.files_indexed == 1
    assert any("Instanbu" in c.text for c in engine.store.all_chunks())


# --------------------------------------------------- item 7: bad /ask input, an empty library


@pytest.mark.parametrize("history", ["not a list", [1, 2, {"a": 3}], {"a": 1}, ["ok", None]])
def test_malformed_history_is_a_one_line_error(engine, history: Any) -> None:
    with pytest.raises(QuestionError, match="history must be a list of earlier questions"):
        engine.answer("Where are the talks?", history)


def test_ask_endpoint_refuses_malformed_history_in_one_line(engine) -> None:
    import gradio as gr

    from qa.app.ui import build_app

    ask = _event_fn(build_app(engine=engine), "ask")
    for history in ([1, 2, {"a": 3}], "not a list", 7):
        with pytest.raises(gr.Error) as info:
            ask("Where are the talks?", history)
        assert "history must be a list" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(gr.Error, match="must be a string"):
        ask(["a question in a list"])


def test_empty_library_says_so_on_every_question(engine, seeds_dir: Path) -> None:
    (seeds_dir / SEED_NAME).unlink()
    engine.refresh()  # as `qa chat` does before serving
    for _ in range(2):  # the second takes the path where nothing changed on disk
        with pytest.raises(SourceError, match="no documents are indexed"):
            engine.answer("Where are the talks?")


# ---------------------------------------------------------------- item 8: uploads' temp files


def test_uploads_temp_files_are_deleted_once_parsed_or_refused(
        engine, tmp_path: Path, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.app.ui import build_app

    upload_root = tmp_path / "gradio-uploads"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(upload_root))
    good = upload_root / "a1" / "ferry.txt"
    bad = upload_root / "b2" / "blob.txt"
    good.parent.mkdir(parents=True)
    bad.parent.mkdir(parents=True)
    good.write_text("The ferry to the island leaves at nine every morning.\n")
    bad.write_bytes(b"\x00\x01 not text" * 50)
    keep = tmp_path / "not-an-upload.txt"
    keep.write_text("a file of the user's, outside Gradio's upload folder\n")
    add_files = _event_fn(build_app(engine=engine), "add_files")
    *_, (_, status, _, _) = add_files([str(good), str(bad), str(keep)])
    assert "added ferry.txt" in status and "blob.txt" in status and "binary" in status
    assert (seeds_dir / "ferry.txt").exists()
    assert not good.exists() and not bad.exists()
    assert not good.parent.exists() and not bad.parent.exists()
    assert keep.exists()


# ------------------------------------------------------- item 9: late NUL bytes, odd file names


def test_nul_bytes_after_the_first_8_kb_are_refused(engine, seeds_dir: Path) -> None:
    (seeds_dir / "late.txt").write_bytes(b"A plain sentence of text.\n" * 400 + b"\x00\x00tail")
    report = engine.refresh()
    assert any(w.startswith("late.txt:") and "NUL" in w for w in report.warnings)
    assert "late.txt" not in {d.source for d in engine.documents()}


def test_a_newline_in_a_file_name_keeps_each_cli_line_one_line(
        seeds_dir: Path, capsys: pytest.CaptureFixture) -> None:
    from qa.app.cli import citation_line, main
    from qa.types import Citation

    name = "two\nlines.txt"
    shutil.copy(seeds_dir / SEED_NAME, seeds_dir / name)
    (seeds_dir / "odd\nname.png").write_bytes(b"\x89PNG")
    assert main(["index"]) == 0
    err = capsys.readouterr().err
    assert "  indexed two\\nlines.txt (" in err
    assert "warning: odd\\nname.png: skipped, unsupported type" in err
    c = Citation(n=1, source=name, start=0, end=5, quote="Russi", line_start=1, line_end=1,
                 sha256="0" * 64)
    assert citation_line(c) == "[1] two\\nlines.txt, line 1 (chars 0-5)"


# ------------------------------------------------------ item 10: defaults and the current folder


def test_defaults_come_from_the_nearest_folder_with_seeds(tmp_path: Path) -> None:
    from qa.config import REPO_ROOT, Settings

    project = tmp_path / "project"
    (project / "seeds").mkdir(parents=True)
    (project / "deep" / "er").mkdir(parents=True)
    settings = Settings.from_env({}, cwd=project / "deep" / "er")
    assert settings.seeds_dir == project / "seeds" and settings.index_dir == project / "index"
    assert settings.project_dir == project
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    if not any((p / "seeds").is_dir() for p in (nowhere, *nowhere.parents)):
        assert Settings.from_env({}, cwd=nowhere).project_dir == REPO_ROOT
    explicit = Settings.from_env({"QA_SEEDS_DIR": "s", "QA_INDEX_DIR": "i"}, cwd=nowhere)
    assert (explicit.seeds_dir, explicit.index_dir, explicit.project_dir) == (
        Path("s"), Path("i"), None)


def test_cli_from_a_subfolder_says_which_folder_it_uses(
        tmp_path: Path, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    from qa.app.cli import main

    project = tmp_path / "project"
    shutil.copytree(seeds_dir, project / "seeds")
    (project / "notes").mkdir()
    monkeypatch.delenv("QA_SEEDS_DIR")
    monkeypatch.delenv("QA_INDEX_DIR")
    monkeypatch.chdir(project / "notes")
    assert main(["index"]) == 0
    err = capsys.readouterr().err
    assert f"note: using {project / 'seeds'} and {project / 'index'}" in err
    assert (project / "index").is_dir() and not (project / "notes" / "index").exists()


def test_a_missing_seeds_folder_creates_no_index(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from qa.app.cli import main

    monkeypatch.setenv("QA_SEEDS_DIR", str(tmp_path / "no-such-seeds"))
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "fresh-index"))
    assert main(["ask", "Where are the talks?"]) == 2
    assert "no-such-seeds does not exist" in capsys.readouterr().err
    assert not (tmp_path / "fresh-index").exists()


# ------------------------------------------------------------ item 11: questions in other languages


def test_language_check_is_cheap_and_conservative() -> None:
    from qa.offline.language import foreign_language

    assert foreign_language("¿Dónde propuso Putin celebrar las conversaciones?") == "Spanish"
    assert foreign_language("Où Poutine a-t-il proposé de tenir les pourparlers ?") == "French"
    assert foreign_language("Wo hat Putin vorgeschlagen, die Gespräche abzuhalten?") == "German"
    assert foreign_language("Где Путин предложил провести переговоры?") == "another language"
    for english in ("Where did Putin propose holding the talks?", "Was Macron there?",
                    "What did Erdoğan say about the talks in Istanbul?", "What did Le Monde say?"):
        assert foreign_language(english) is None


@pytest.mark.parametrize("question", [
    "¿Cuál es la capital de Australia?",
    "Quelle est la capitale de l'Australie ?",
    "Was ist die Hauptstadt von Australien?",
])
def test_a_refused_question_in_another_language_says_qa_reads_english(engine, question) -> None:
    answer = engine.answer(question)
    assert not answer.supported
    assert "reads the sources in English" in answer.notice

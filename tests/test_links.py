"""Issue 16, items 1 and 4: links in seeds/. Folder links are never followed (loops cannot hang),
links out of the folder are skipped with a warning that names them, links to files inside work."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qa.sources.walk import inside, walk

SEED_NAME = "000_7383d27b375f9d56.txt"
SECRET = "root:x:0:0:qa-test-secret:/root:/bin/bash\n"


def _bounded(fn: Callable[[], Any], seconds: float = 60.0) -> Any:
    """fn() in a thread; fails the test instead of hanging it when fn never returns."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"did not finish in {seconds} s (a link loop followed?)"
    if "error" in out:
        raise out["error"]
    return out.get("value")


@pytest.fixture
def linked_seeds(seeds_dir: Path, tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.txt").write_text(SECRET)
    (outside / "more.txt").write_text("Another outside file about the root account.\n")
    (seeds_dir / "sub").mkdir()
    (seeds_dir / "sub" / "notes.md").write_text("The ferry leaves at nine.\n")
    os.symlink(".", seeds_dir / "a")  # `ln -s . seeds/a`
    os.symlink(".", seeds_dir / "b")
    os.symlink("..", seeds_dir / "sub" / "up")
    os.symlink(outside / "passwd.txt", seeds_dir / "passwd.txt")
    os.symlink(outside, seeds_dir / "elsewhere")
    os.symlink(SEED_NAME, seeds_dir / "alias.txt")  # a link to a file inside: that file
    os.symlink(seeds_dir / "missing.txt", seeds_dir / "broken.txt")
    if Path("/etc/passwd").exists():
        os.symlink("/etc/passwd", seeds_dir / "etc-passwd.txt")
    return seeds_dir


def test_walk_skips_folder_links_and_links_out(linked_seeds: Path) -> None:
    files, warnings = _bounded(lambda: walk(linked_seeds), 10)
    assert [f.source for f in files] == [SEED_NAME, "alias.txt", "sub/notes.md"]
    joined = "\n".join(warnings)
    for name in ("a", "b", "sub/up", "passwd.txt", "elsewhere", "broken.txt"):
        assert any(w.startswith(f"{name}: ") for w in warnings), (name, joined)
    assert all("\n" not in w for w in warnings)
    assert "outside the documents folder" in joined
    assert inside(linked_seeds, SEED_NAME) is not None
    assert inside(linked_seeds, "passwd.txt") is None
    assert inside(linked_seeds, "../outside/passwd.txt") is None


def test_engine_indexes_and_answers_without_following_links(engine, linked_seeds: Path) -> None:
    report = _bounded(engine.refresh)
    assert {d.source for d in engine.documents()} == {SEED_NAME, "alias.txt", "sub/notes.md"}
    assert any(w.startswith("passwd.txt: a link to ") for w in report.warnings)
    answer = _bounded(lambda: engine.answer("What is the shell of the root account?"))
    assert all(c.source not in ("passwd.txt", "etc-passwd.txt") for c in answer.citations)
    assert "qa-test-secret" not in answer.text and "/bin/bash" not in answer.text
    with pytest.raises(Exception, match="not a file in"):
        engine.source_text("passwd.txt")


def test_cli_index_and_ask_with_links(linked_seeds: Path, capsys: pytest.CaptureFixture) -> None:
    from qa.app.cli import main

    assert _bounded(lambda: main(["index"]), 300) == 0
    out, err = capsys.readouterr()
    assert "warning: passwd.txt: a link to " in err and "outside the documents folder" in err
    assert "warning: a: a link to a folder; not followed" in err
    assert "indexed 3 file(s)" in out
    assert _bounded(lambda: main(["ask", "What is the shell of the root account?", "--json"]),
                    300) == 0
    answer = json.loads(capsys.readouterr().out)
    assert all(c["source"] in (SEED_NAME, "alias.txt", "sub/notes.md")
               for c in answer["citations"])
    assert "qa-test-secret" not in answer["text"]

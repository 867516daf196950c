"""Issue 16, item 3: `qa index --rebuild` works on a corrupt index: it is moved aside (never
deleted) before anything reads it, a new one is built, and no folder of old collections is left
in index/."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _uuid_folders(index: Path) -> set[str]:
    return {p.name for p in index.iterdir() if p.is_dir() and _UUID.match(p.name)}


def _corrupt(db: Path) -> None:
    size = db.stat().st_size
    os.truncate(db, size // 3)  # `truncate -s` a third: "database disk image is malformed"


def test_rebuild_moves_a_corrupt_index_aside_and_builds_anew(
        engine, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from qa.app.cli import main

    engine.refresh()  # this process now holds Chroma's cached client of index/
    index = tmp_path / "index"
    fresh = _uuid_folders(index)
    _corrupt(index / "chroma.sqlite3")
    assert main(["index", "--rebuild"]) == 0
    out, err = capsys.readouterr()
    assert "the old index was moved to" in err and "indexed 1 file(s)" in out
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("index.old-")]
    assert len(aside) == 1 and (aside[0] / "chroma.sqlite3").exists()  # kept, not deleted
    assert len(_uuid_folders(index)) == len(fresh)  # the new index's own folders only
    assert not _uuid_folders(index) & _uuid_folders(aside[0])
    assert main(["ask", "Where did Putin propose holding the talks?", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["supported"] and "Istanbul" in answer["text"]


def test_rebuild_twice_leaves_no_orphan_folders_and_keeps_removed_files(
        engine, tmp_path: Path) -> None:
    engine.refresh()
    index = tmp_path / "index"
    count = len(_uuid_folders(index))
    (index / "removed" / "20250101T000000Z").mkdir(parents=True)
    (index / "removed" / "20250101T000000Z" / "old.txt").write_text("a removed document\n")
    for _ in range(2):
        report = engine.refresh(rebuild=True)
        assert any("moved to" in w for w in report.warnings)
        assert report.chunks_total > 0
        assert len(_uuid_folders(index)) == count
    assert (index / "removed" / "20250101T000000Z" / "old.txt").exists()
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("index.old-")]) == 2
    assert engine.answer("Where did Putin propose holding the talks?").supported


def test_rebuild_of_a_half_written_index_without_its_marker(engine, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    from qa.app.cli import main
    from qa.store.chroma import MARKER

    engine.refresh()
    (tmp_path / "index" / MARKER).unlink()
    assert main(["ask", "Where are the talks?"]) == 2
    assert "rebuild" in capsys.readouterr().err
    assert main(["index", "--rebuild"]) == 0

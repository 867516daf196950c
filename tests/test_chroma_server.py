"""`qa` on a real Chroma server (`chroma run`), started here on 127.0.0.1 and a free port.

Same answers as the embedded index; a restart of the server loses nothing; while it is down, the
CLI says so in one line and a long-running engine recovers when it is back."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from qa.api import Engine
from qa.config import Settings
from qa.errors import StoreError
from qa.store.chroma import Store
from qa.store.embed import Embedder

REPO = Path(__file__).resolve().parent.parent
CHROMA = Path(sys.executable).parent / "chroma"

QUESTIONS = [
    ("Where did Putin propose holding the talks?", None),
    ("What did Zelenskyy demand before any negotiations?", None),
    ("Who would Putin speak with to help facilitate the talks?", None),
    ("When could the negotiations resume?", ["What did Putin propose?"]),
    ("What is the capital of Australia?", None),
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    """One `chroma run` process on 127.0.0.1; `stop()` ends exactly that process."""

    def __init__(self, path: Path, port: int, log: Path) -> None:
        self.path, self.port, self.log = path, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(CHROMA), "run", "--host", "127.0.0.1", "--port", str(self.port),
                 "--path", str(self.path)],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"chroma run did not come up: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def chroma_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    if not CHROMA.exists():
        pytest.fail(f"{CHROMA} is missing: install chromadb into this environment")
    server = ChromaServer(tmp_path / "chroma-data", free_port(), tmp_path / "chroma.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def all_seeds(seeds_dir: Path) -> Path:
    """Every file of the repository's seeds/ (conftest already copied the article)."""
    for path in (REPO / "seeds").iterdir():
        if path.is_file() and not path.name.startswith("."):
            shutil.copy(path, seeds_dir / path.name)
    return seeds_dir


def answers(engine: Engine) -> list[dict]:
    return [engine.answer(q, history).to_dict() for q, history in QUESTIONS]


def run_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                          env={**os.environ, "QA_CHROMA_URL": url}, timeout=300)


@pytest.fixture
def server_settings(chroma_server: ChromaServer, all_seeds: Path,
                    monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a user gets with QA_CHROMA_URL pointing at the test server."""
    monkeypatch.setenv("QA_CHROMA_URL", chroma_server.url)
    return Settings.from_env()


def served_engine(settings: Settings, embedder: Embedder) -> Engine:
    return Engine(settings, Store.open(settings.index_dir, settings.chroma_url), embedder)


@pytest.mark.slow
def test_server_index_answers_like_embedded_and_survives_restarts(
        chroma_server: ChromaServer, server_settings: Settings, embedder: Embedder) -> None:
    settings = server_settings
    assert settings.chroma_url == chroma_server.url

    served = served_engine(settings, embedder)
    assert served.store.location == chroma_server.url
    first = served.refresh()
    assert first.chunks_embedded > 0 and first.chunks_total == first.chunks_embedded
    assert not settings.index_dir.exists()  # nothing was written to the embedded location

    local_settings = settings.with_(chroma_url="")
    local = Engine(local_settings, Store.open(local_settings.index_dir), embedder)
    assert local.refresh().chunks_total == first.chunks_total

    expected = answers(local)
    assert expected[0]["supported"] and "Istanbul" in expected[0]["text"]
    assert not expected[-1]["supported"]
    assert answers(served) == expected

    # a separate process (what `qa ask` / another `qa chat` does) sees the same index
    shown = run_cli("ask", "--json", QUESTIONS[0][0], url=chroma_server.url)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == expected[0]

    # restart: nothing lost, nothing to re-embed; the long-running engine reconnects by itself
    chroma_server.restart()
    assert answers(served) == expected
    reopened = served_engine(settings, embedder)
    assert reopened.store.count() == first.chunks_total
    again = reopened.refresh()
    assert (again.chunks_embedded, again.files_unchanged) == (0, first.files_indexed)
    assert answers(reopened) == expected

    # down: one line on stderr, non-zero exit, no traceback; in process a StoreError
    chroma_server.stop()
    for args in (["ask", QUESTIONS[0][0]], ["index"]):
        down = run_cli(*args, url=chroma_server.url)
        assert down.returncode != 0
        assert down.stdout == ""
        lines = down.stderr.strip().splitlines()
        assert len(lines) == 1, down.stderr
        assert lines[0].startswith(f"error: the Chroma server at {chroma_server.url} ")
        assert "chroma run" in lines[0] and "Traceback" not in down.stderr
    with pytest.raises(StoreError, match=f"Chroma server at {chroma_server.url}"):
        served.answer(QUESTIONS[0][0])

    # back up: the same engine answers again, with the same answers
    chroma_server.start()
    assert answers(served) == expected


@pytest.mark.slow
def test_rebuild_on_a_server_starts_from_empty(server_settings: Settings,
                                               embedder: Embedder) -> None:
    engine = served_engine(server_settings, embedder)
    total = engine.refresh().chunks_total
    rebuilt = engine.refresh(rebuild=True)
    assert (rebuilt.chunks_embedded, rebuilt.chunks_total) == (total, total)
    assert rebuilt.warnings == ()


def test_unreachable_server_is_a_store_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(StoreError, match=r"cannot be reached .*start it with `chroma run`"):
        Store.open(tmp_path / "index", url)
    assert not (tmp_path / "index").exists()


def test_malformed_server_url_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"QA_CHROMA_URL='localhost:8000' is not a URL"):
        Store.open(tmp_path / "index", "localhost:8000")

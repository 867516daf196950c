"""Servers for the chat tests: the real `qa chat` command over a temp copy of seeds/, and an
in-process app over its own temp seeds/ for tests that add files.

Both run the real Engine over the real seed article; nothing is faked. A test module gets the
fixtures with `pytest_plugins = ["ui_fixtures"]` and imports names from here only for type checking
(a runtime import would come before pytest's and stop it rewriting the asserts of this plugin).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
OFFLINE_ENV = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "QA_BACKEND": "extractive",
    # The rule-based answerer, as in every other test: the reader model (1.1 GB, ~1 s a question)
    # is exercised by tests/test_judge.py only. A test may still ask for it through `env`.
    "QA_JUDGE": "off",
}
CHROMIUM = "/usr/bin/chromium"  # Debian's, driven by playwright
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-default-apps", "--disable-sync",
                 "--no-first-run", "--disable-features=Translate,OptimizationHints,MediaRouter"]
START_TIMEOUT = 180  # seconds: a cold start imports torch and embeds the article


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def copy_seeds(dest: Path) -> Path:
    shutil.copytree(SEEDS, dest)
    return dest


@dataclass
class ChatServer:
    url: str
    seeds_dir: Path
    output: list[str]  # what `qa chat` printed on stdout

    def source_text(self, source: str) -> str:
        return (self.seeds_dir / source).read_text(encoding="utf-8")


def _wait_for_url(proc: subprocess.Popen[str], output: list[str]) -> str:
    """Reads `qa chat` output until it prints its URL; fails with everything it printed."""
    found: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line.rstrip("\n"))
            if "running at http" in line and not found:
                found.append(line.split("running at ", 1)[1].split()[0])
                done.set()
        done.set()

    threading.Thread(target=read, daemon=True).start()
    done.wait(START_TIMEOUT)
    if not found:
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        raise AssertionError(f"`qa chat` did not start:\n{chr(10).join(output)}\n{err}")
    return found[0]


def start_chat(tmp: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
               ) -> tuple[subprocess.Popen[str], ChatServer]:
    """Starts `python -m qa chat` on a free port over a temp copy of seeds/ with a fresh index."""
    seeds = copy_seeds(tmp / "chat_seeds")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "OPENAI_"))}
    full_env.update(OFFLINE_ENV, QA_SEEDS_DIR=str(seeds), QA_INDEX_DIR=str(tmp / "chat_index"),
                    QA_PORT=str(free_port()))
    full_env.update(env or {})
    proc = subprocess.Popen([sys.executable, "-m", "qa", "chat", *args], cwd=REPO, env=full_env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    output: list[str] = []
    url = _wait_for_url(proc, output)
    return proc, ChatServer(url, seeds, output)


def stop(proc: subprocess.Popen[str]) -> str:
    """Stops one server we started, by its own handle; returns its stderr."""
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err or ""


@pytest.fixture(scope="session")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    """`qa chat` as a user runs it, over a temp copy of the seed article. Shared: do not change
    its seeds/ (use `writable_app` for that)."""
    proc, server = start_chat(tmp_path_factory.mktemp("chat"))
    yield server
    stop(proc)


@pytest.fixture
def chat_launcher(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], ChatServer]]:
    """Starts more `qa chat` servers with extra environment variables; stops them afterwards."""
    procs: list[subprocess.Popen[str]] = []

    def launch(env: dict[str, str]) -> ChatServer:
        proc, server = start_chat(tmp_path / f"launch{len(procs)}", env)
        procs.append(proc)
        return server

    yield launch
    for proc in procs:
        stop(proc)


@dataclass
class InProcessApp:
    url: str
    seeds_dir: Path
    engine: object  # qa.api.Engine


@pytest.fixture
def writable_app(tmp_path: Path, embedder) -> Iterator[InProcessApp]:  # type: ignore[no-untyped-def]
    """`build_app` launched in this process over its own seeds/ copy, for tests that add files.
    Uploads are limited to 50 kB. `embedder` is the session fixture of conftest.py."""
    from qa.api import Engine
    from qa.app.ui import build_app
    from qa.config import Settings
    from qa.store.chroma import Store

    seeds = copy_seeds(tmp_path / "app_seeds")
    settings = Settings.from_env().with_(seeds_dir=seeds, index_dir=tmp_path / "app_index",
                                         max_upload_mb=0.05)
    engine = Engine(settings, Store.open(settings.index_dir, settings.chroma_url), embedder)
    engine.refresh()
    app = build_app(engine=engine)
    _, url, _ = app.queue().launch(server_name="127.0.0.1", server_port=free_port(), quiet=True,
                                   prevent_thread_lock=True, ssr_mode=False, mcp_server=False)
    try:
        yield InProcessApp(url, seeds, engine)
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for one test module (a `playwright.sync_api.Browser`)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install chromium`")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()

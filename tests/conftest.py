"""Hermetic tests: every test gets its own seeds/ copy and index/ under tmp_path, and the process
is offline (no telemetry, no hub). Collaborators come from fixtures, never from module globals."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "000_7383d27b375f9d56.txt"

os.environ.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1",
                  ANONYMIZED_TELEMETRY="False", TOKENIZERS_PARALLELISM="false")


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("QA_") or name.startswith("OPENAI_"):
            monkeypatch.delenv(name, raising=False)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SEED, seeds / SEED.name)
    monkeypatch.setenv("QA_SEEDS_DIR", str(seeds))
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "index"))
    # The rule-based answerer by default: the reader model (~1 s a question) is exercised by
    # tests/test_judge.py, which asks for it explicitly.
    monkeypatch.setenv("QA_JUDGE", "off")


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    return tmp_path / "seeds"


@pytest.fixture
def settings():  # type: ignore[no-untyped-def]
    from qa.config import Settings

    return Settings.from_env()


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from qa.store.embed import Embedder

    return Embedder()


@pytest.fixture
def engine(settings, embedder):  # type: ignore[no-untyped-def]
    from qa.api import Engine
    from qa.store.chroma import Store

    return Engine(settings, Store.open(settings.index_dir, settings.chroma_url), embedder)

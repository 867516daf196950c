"""All settings of `qa` in one object. Every environment variable is listed here and in the README.

| variable          | meaning                                                   | default              |
|-------------------|-----------------------------------------------------------|----------------------|
| QA_SEEDS_DIR      | folder of source documents                                | seeds/ of the project folder |
| QA_INDEX_DIR      | folder of the embedded Chroma index                       | index/ of the project folder |
| QA_PROMPTS_DIR    | folder of prompt templates                                | prompts/ of the repo |
| QA_TOP_K          | passages retrieved per question                           | 5                    |
| QA_BACKEND        | `extractive` or `openai`                                  | openai if OPENAI_API_KEY is set, else extractive |
| QA_MODEL          | model name for the openai backend                         | gpt-4o-mini          |
| OPENAI_BASE_URL   | any OpenAI-compatible /v1 endpoint                        | https://api.openai.com/v1 |
| OPENAI_API_KEY    | key for that endpoint (never logged or returned)          | (none)               |
| QA_TIMEOUT        | seconds to wait for the model                             | 60                   |
| QA_CHROMA_URL     | http://host:port of a Chroma server instead of index/     | (embedded)           |
| QA_HOST, QA_PORT  | where `qa chat` listens                                   | 127.0.0.1, 7860      |
| QA_AUTH           | `user:password` to require a login in the chat            | (no login)           |
| QA_MAX_UPLOAD_MB  | largest file the chat accepts                             | 20                   |
| QA_JUDGE          | reader model of the offline answerer: local, openai, off  | local if installed, else off |
| QA_MODEL_DIR      | the reader model's joined file; the exported embedder     | ~/.cache/qa/models   |

The project folder (`project_dir()`) is the current folder or the nearest folder above it that
has a `seeds/` folder; failing that, this checkout of qa when it has one; failing that, the current
folder. So `.venv/bin/qa ask` run from elsewhere uses the project's seeds/ and index/ instead of
creating `./index` wherever it runs; the CLI says which folder it used when it is not the current.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_QUESTION_CHARS = 4000


def default_model_dir() -> Path:
    """Outside the repository: the user's cache folder (XDG_CACHE_HOME, else ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa" / "models"


@dataclass(frozen=True)
class Settings:
    seeds_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    prompts_dir: Path = REPO_ROOT / "prompts"
    top_k: int = 5
    backend: str = "extractive"
    model: str = "gpt-4o-mini"
    base_url: str = "https://api.openai.com/v1"
    api_key: str = field(default="", repr=False)
    timeout: float = 60.0
    chroma_url: str = ""
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = field(default="", repr=False)
    max_upload_mb: float = 20.0
    judge: str = "auto"  # local | openai | off; auto: local when installed, else off
    reader: str = "qwen2.5-coder-1.5b"  # which local model QA_JUDGE=local loads (QA_READER)
    model_dir: Path = field(default_factory=default_model_dir)
    project_dir: Path | None = None  # where default seeds/ and index/ were found; None: not used

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
        env = os.environ if env is None else env
        project = None
        if not (env.get("QA_SEEDS_DIR") and env.get("QA_INDEX_DIR")):
            project = project_dir(Path.cwd() if cwd is None else cwd)
        key = env.get("OPENAI_API_KEY", "")
        backend = env.get("QA_BACKEND", "").strip().lower() or ("openai" if key else "extractive")
        if backend not in ("extractive", "openai"):
            raise ConfigError(f"QA_BACKEND={backend!r} is not known: use 'extractive' or 'openai'")
        return cls(
            seeds_dir=Path(env.get("QA_SEEDS_DIR") or project / "seeds"),  # type: ignore[operator]
            index_dir=Path(env.get("QA_INDEX_DIR") or project / "index"),  # type: ignore[operator]
            prompts_dir=Path(env.get("QA_PROMPTS_DIR", str(REPO_ROOT / "prompts"))),
            top_k=_number(env, "QA_TOP_K", 5, int, minimum=1),
            backend=backend,
            model=env.get("QA_MODEL", "gpt-4o-mini"),
            base_url=env.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/"),
            api_key=key,
            timeout=_number(env, "QA_TIMEOUT", 60.0, float, minimum=0.1),
            chroma_url=env.get("QA_CHROMA_URL", "").strip(),
            host=env.get("QA_HOST", "127.0.0.1"),
            port=_number(env, "QA_PORT", 7860, int, minimum=0),
            auth=env.get("QA_AUTH", ""),
            max_upload_mb=_number(env, "QA_MAX_UPLOAD_MB", 20.0, float, minimum=0.001),
            judge=_judge(env),
            reader=_reader(env),
            model_dir=Path(env.get("QA_MODEL_DIR", "").strip() or default_model_dir()),
            project_dir=project,
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _judge(env: Mapping[str, str]) -> str:
    judge = env.get("QA_JUDGE", "").strip().lower() or "auto"
    if judge not in ("auto", "local", "openai", "off"):
        raise ConfigError(f"QA_JUDGE={judge!r} is not known: use 'local', 'openai' or 'off'")
    return judge


READERS = ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b")  # the keys of qa.offline.weights.READERS


def _reader(env: Mapping[str, str]) -> str:
    reader = env.get("QA_READER", "").strip().lower() or READERS[0]
    if reader not in READERS:
        raise ConfigError(f"QA_READER={reader!r} is not known: use one of {', '.join(READERS)}")
    return reader


def project_dir(cwd: Path) -> Path:
    """The folder whose seeds/ and index/ are the defaults: `cwd` or its nearest parent with a
    seeds/ folder, else this checkout of qa if it has seeds/, else `cwd` (absolute paths)."""
    cwd = cwd.absolute()
    for folder in (cwd, *cwd.parents):
        if (folder / "seeds").is_dir():
            return folder
    if (REPO_ROOT / "seeds").is_dir():
        return REPO_ROOT
    return cwd


def _number(env: Mapping[str, str], name: str, default, kind, *, minimum):  # type: ignore[no-untyped-def]
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number: set it to e.g. {default}") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} is too small: it must be at least {minimum}")
    return value

"""A llama.cpp OpenAI-compatible server in this process, for `QA_BACKEND=openai` without a
separate `llama-server` binary: the `xllamacpp` wheel that runs the reader model also serves HTTP.

    .venv/bin/python -m qa.model.llama_server --port 8080        # the reader model (1.5B)
    QA_BACKEND=openai OPENAI_BASE_URL=http://127.0.0.1:8080/v1 QA_MODEL=local .venv/bin/qa ask "..."

`LlamaServer.start(path)` loads a GGUF file (memory-mapped) and listens on `host:port` (port 0: a
free one, `base_url` says which) until `close()`. The file is loaded as it is: check it first
(`qa.offline.weights.model_file` does for the reader model). The tests use it with SmolLM2-135M,
`bench/bench_model.py` with the reader model.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
from pathlib import Path
from typing import Any, Self

from qa.errors import ConfigError, QAError

__all__ = ["LlamaServer"]

CONTEXT_TOKENS = 4096  # the answer prompt with five passages of < 200 word pieces fits


class LlamaServer:
    """One model served on http://host:port/v1 by llama.cpp (xllamacpp) in this process."""

    def __init__(self, server: Any, base_url: str, model_path: Path) -> None:
        self._server = server
        self.base_url = base_url  # http://127.0.0.1:PORT/v1
        self.model_path = model_path

    @classmethod
    def start(cls, model_path: Path, *, host: str = "127.0.0.1", port: int = 0,
              context: int = CONTEXT_TOKENS, threads: int | None = None) -> LlamaServer:
        """Load `model_path` and listen. Raises ConfigError (runtime missing, file unloadable,
        address taken)."""
        try:
            import xllamacpp
        except ImportError:
            raise ConfigError("llama.cpp's runtime (xllamacpp) is not installed: run "
                              "`pip install -e .` again") from None
        if not model_path.is_file():
            raise ConfigError(f"no model file at {model_path}: give the path of a .gguf file")
        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = context
        params.n_parallel = 1  # one request at a time: a second one waits, it is not refused
        n = threads or max(1, min(4, os.cpu_count() or 1))
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = n
        params.warmup = False
        params.cache_prompt = True
        params.verbosity = -1  # llama.cpp logs every request to stderr otherwise
        params.hostnames = [host]
        params.port = port
        try:
            server = xllamacpp.Server(params)
            address = str(server.listening_address).rstrip("/")
        except Exception as exc:  # noqa: BLE001 - the runtime's own error: bad file, port taken
            raise ConfigError(f"llama.cpp cannot serve {model_path} on {host}:{port} ({exc}): "
                              "check the file and pick a free port") from None
        if not address.startswith("http"):
            raise ConfigError(f"llama.cpp did not start listening on {host}:{port}: pick a "
                              "free port")
        return cls(server, address + "/v1", model_path)

    def close(self) -> None:
        """Stop listening and free the model (the runtime stops when the object goes)."""
        self._server = None
        gc.collect()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m qa.model.llama_server",
        description="Serve a GGUF model (default: the reader model, checked) on an "
                    "OpenAI-compatible /v1 endpoint with llama.cpp.")
    ap.add_argument("model", nargs="?", type=Path,
                    help="a .gguf file (default: the reader model, joined and checked)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        path = args.model
        if path is None:
            from qa.config import Settings
            from qa.offline.weights import QWEN_1_5B, model_file

            path = model_file(QWEN_1_5B, Settings.from_env().model_dir)
        server = LlamaServer.start(path, host=args.host, port=args.port, threads=args.threads)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"serving {server.model_path.name} at {server.base_url} (Ctrl-C stops)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

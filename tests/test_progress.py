"""`qa index`'s progress display: a bar redrawn in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from qa.app.progress import ProgressDisplay, duration
from qa.types import IndexProgress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _batch(done: int, seconds: float) -> IndexProgress:
    return IndexProgress(files_done=0, files_total=1, chunks_done=done, bytes_done=done * 500,
                         bytes_total=2_000_000, seconds=seconds, file="big.txt")


def test_plain_lines_at_most_every_few_seconds_and_one_per_committed_file() -> None:
    out, clock = io.StringIO(), Clock()
    show = ProgressDisplay(out, tty=False, plain_every=3.0, clock=clock)
    for k in range(1, 9):  # a batch every 2 s
        clock.now = 2.0 * k
        show(_batch(512 * k, clock.now))
    show(IndexProgress(1, 1, 4096, 2_000_000, 2_000_000, 17.0, "big\nname.txt", True, 4096))
    show.close()
    lines = out.getvalue().splitlines()
    progress = [ln for ln in lines if ln.startswith("  progress: ")]
    assert len(progress) == 4  # at 4, 8, 12, 16 s
    assert progress[0] == ("  progress: 0 of 1 file(s), 1,024 chunks, 256.0 chunks/s, 26% of "
                           "2.0 MB, about 12s left")
    assert lines[-1] == "  indexed big\\nname.txt (4096 chunks)"  # one line, whatever the name
    assert "\r" not in out.getvalue()


def test_bar_on_a_terminal_is_redrawn_in_place_and_left_on_screen() -> None:
    out, clock = io.StringIO(), Clock()
    show = ProgressDisplay(out, tty=True, clock=clock)
    clock.now = 1.0
    show(_batch(512, 1.0))
    clock.now = 1.05  # too soon to redraw
    show(_batch(1024, 1.05))
    clock.now = 2.0
    show(IndexProgress(1, 1, 2048, 2_000_000, 2_000_000, 2.0, "big.txt", True, 2048))
    show.close()
    text = out.getvalue()
    assert text.startswith("[###.....................] 0 of 1 file(s), 512 chunks, 512.0 "
                           "chunks/s, 13% of 2.0 MB, about 7s left")
    assert "1,024 chunks" not in text
    assert "\r\x1b[K  indexed big.txt (2048 chunks)\n[########################] 1 of 1" in text
    assert text.endswith("100% of 2.0 MB, about 0s left\n")


def test_durations_read_well() -> None:
    assert [duration(s) for s in (4.4, 65, 3725)] == ["4s", "1m05s", "1h02m"]

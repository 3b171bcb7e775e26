"""Progress bars appear only once a transfer phase has run a while: a short one draws none."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress as RichProgress

from headwater.cli.progress import Bars


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_short_phase_draws_no_bars_and_a_long_one_starts_from_what_moved() -> None:
    clock = Clock()
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    with RichProgress(console=console) as rich:
        bars = Bars(rich, show_after_s=0.3, clock=clock)
        bars.start("Uploading", 10, 10_000)
        bars.advance(1, 1_000)
        clock.now += 0.1
        bars.advance(1, 1_000)
        assert rich.tasks == []  # 0.1 s in: too short to draw
        clock.now += 0.3
        bars.advance(1, 1_000)
        files, size = rich.tasks  # shown now, counting all that moved since the start
        assert (files.completed, files.total, size.completed, size.total) == (3, 10, 3000, 10_000)
        bars.advance(2, 2_000)
        assert (files.completed, size.completed) == (5, 5000)
        bars.start("Downloading", 4, 400)  # a new phase waits again
        assert rich.tasks == []
        bars.advance(4, 400)
        assert rich.tasks == []


def test_a_phase_with_nothing_to_move_draws_nothing_however_long() -> None:
    clock = Clock()
    with RichProgress(console=Console(file=io.StringIO())) as rich:
        bars = Bars(rich, show_after_s=0.3, clock=clock)
        bars.start("Uploading", 0, 0)
        clock.now += 5
        bars.advance(0, 0)
        assert rich.tasks == []

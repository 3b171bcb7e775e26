"""Progress bars for long transfers: one bar for files, one for bytes, on stderr.

Shown only to a person watching: quiet with ``--json`` or when stdout is not a terminal, so
pipes, scripts and the tests see only the result. Bars disappear when the transfer ends.

Only a long transfer shows them: Rich is imported and the bars drawn once a phase has been
moving for ``SHOW_AFTER_S`` (they start from what has moved so far), so a no-change or a
one-file sync on a terminal pays for no Rich at all.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import ProgressColumn, TaskID

    from headwater.client.transfer import Progress

SHOW_AFTER_S = 0.3


@cache
def _columns() -> tuple[ProgressColumn, ...]:
    """The bars' columns; their classes subclass Rich's, so they are built on first use."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.text import Text

    class _Amount(ProgressColumn):
        """``3/10 files`` on the files bar, ``1.2/5.0 MB`` on the bytes bar."""

        def __init__(self) -> None:
            super().__init__()
            self._bytes = DownloadColumn()

        def render(self, task: Task) -> Text:
            if task.fields.get("unit") == "bytes":
                return self._bytes.render(task)
            return Text(
                f"{int(task.completed)}/{int(task.total or 0)} files", style="progress.download"
            )

    class _Speed(ProgressColumn):
        """Bytes per second, on the bytes bar only."""

        def __init__(self) -> None:
            super().__init__()
            self._speed = TransferSpeedColumn()

        def render(self, task: Task) -> Text:
            return self._speed.render(task) if task.fields.get("unit") == "bytes" else Text("")

    return (
        TextColumn("{task.description:<11}"),
        BarColumn(),
        _Amount(),
        _Speed(),
        TimeRemainingColumn(),
    )


class Bars:
    """The ``Progress`` of ``headwater.client.transfer`` drawn with Rich once a phase has run
    ``show_after_s``; thread-safe (``advance`` comes from the transfer's threads). Given a
    running Rich ``progress``, it draws there from the start of each phase."""

    def __init__(
        self,
        progress: RichProgress | None = None,
        *,
        show_after_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if show_after_s is None:
            show_after_s = SHOW_AFTER_S if progress is None else 0.0
        self._show_after_s = show_after_s
        self._clock = clock
        self._owned = progress is None  # started and stopped here, on first need
        self._lock = threading.Lock()
        self._rich = progress
        self._tasks: tuple[TaskID, TaskID] | None = None
        self._phase: tuple[str, int, int] | None = None  # action, files, size
        self._started = 0.0
        self._done = [0, 0]  # files, bytes moved in this phase

    def start(self, action: str, files: int, size: int) -> None:
        with self._lock:
            if self._rich is not None and self._tasks is not None:
                for task in self._tasks:
                    self._rich.remove_task(task)
            self._tasks = None
            self._phase = (action, files, size) if files else None  # nothing to move: no bars
            self._started = self._clock()
            self._done = [0, 0]
            if self._phase is not None and self._show_after_s <= 0:
                self._show()

    def advance(self, files: int, size: int) -> None:
        with self._lock:
            if self._phase is None:
                return
            self._done[0] += files
            self._done[1] += size
            if self._tasks is None:
                if self._clock() - self._started < self._show_after_s:
                    return
                self._show()
            else:
                self._move(files, size)

    def stop(self) -> None:
        with self._lock:
            if self._rich is not None and self._owned:
                self._rich.stop()

    def _show(self) -> None:
        assert self._phase is not None
        if self._rich is None:
            from rich.progress import Progress as RichProgress

            from headwater.cli.output import stderr

            self._rich = RichProgress(*_columns(), console=stderr(), transient=True)
            self._rich.start()
        action, files, size = self._phase
        self._tasks = (
            self._rich.add_task(action, total=files, unit="files"),
            self._rich.add_task("", total=size, unit="bytes"),
        )
        self._move(*self._done)

    def _move(self, files: int, size: int) -> None:
        assert self._rich is not None
        assert self._tasks is not None
        self._rich.advance(self._tasks[0], files)
        self._rich.advance(self._tasks[1], size)


@contextmanager
def transfer_progress(*, quiet: bool = False) -> Iterator[Progress]:
    """Bars while the block runs, or nothing when ``quiet`` or stdout is not a terminal."""
    if quiet or not sys.stdout.isatty():
        from headwater.client.transfer import NoProgress

        yield NoProgress()
        return
    bars = Bars()
    try:
        yield bars
    finally:
        bars.stop()

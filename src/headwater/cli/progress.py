"""Progress bars for long transfers: one bar for files, one for bytes, on stderr.

Shown only to a person watching: quiet with ``--json`` or when stdout is not a terminal, so
pipes, scripts and the tests see only the result. Bars appear once a transfer has lasted
``LONG`` seconds (Rich is imported then: a quick sync never loads it) and disappear when the
transfer ends.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from headwater.client.transfer import NoProgress, Progress

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

LONG = 0.3  # seconds a transfer runs before its bars appear


class Bars:
    """The ``Progress`` of ``headwater.client.transfer`` drawn with Rich; thread-safe."""

    def __init__(self, progress: RichProgress) -> None:
        self._progress = progress
        self._tasks: tuple[TaskID, TaskID] | None = None

    def start(self, action: str, files: int, size: int) -> None:
        if self._tasks is not None:
            for task in self._tasks:
                self._progress.remove_task(task)
            self._tasks = None
        if files == 0:
            return  # nothing to move: no bars
        self._tasks = (
            self._progress.add_task(action, total=files, unit="files"),
            self._progress.add_task("", total=size, unit="bytes"),
        )

    def advance(self, files: int, size: int) -> None:
        if self._tasks is not None:
            self._progress.advance(self._tasks[0], files)
            self._progress.advance(self._tasks[1], size)


def rich_progress() -> RichProgress:
    """The bars' layout: ``Uploading  ━━━━━  3/10 files``, then bytes with their speed."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import Progress as RichProgress
    from rich.text import Text

    from headwater.cli.output import stderr

    class Amount(ProgressColumn):
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

    class Speed(ProgressColumn):
        """Bytes per second, on the bytes bar only."""

        def __init__(self) -> None:
            super().__init__()
            self._speed = TransferSpeedColumn()

        def render(self, task: Task) -> Text:
            return self._speed.render(task) if task.fields.get("unit") == "bytes" else Text("")

    return RichProgress(
        TextColumn("{task.description:<11}"),
        BarColumn(),
        Amount(),
        Speed(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    )


class LateBars:
    """A ``Progress`` that draws ``Bars`` only once a phase has run for ``after`` seconds,
    with what it moved so far; until then it only counts. Thread-safe."""

    def __init__(self, after: float = LONG) -> None:
        self._after = after
        self._lock = threading.Lock()
        self._phase: tuple[str, int, int] | None = None
        self._done = [0, 0]
        self._timer: threading.Timer | None = None
        self._rich: RichProgress | None = None
        self._bars: Bars | None = None
        self._closed = False

    def start(self, action: str, files: int, size: int) -> None:
        with self._lock:
            self._phase, self._done = (action, files, size), [0, 0]
            if self._bars is not None:
                self._bars.start(action, files, size)
            elif self._timer is None and files:
                self._timer = threading.Timer(self._after, self._show)
                self._timer.daemon = True
                self._timer.start()

    def advance(self, files: int, size: int) -> None:
        with self._lock:
            self._done[0] += files
            self._done[1] += size
            if self._bars is not None:
                self._bars.advance(files, size)

    def _show(self) -> None:
        rich = rich_progress()  # imported outside the lock: the transfer goes on meanwhile
        with self._lock:
            if self._closed or self._phase is None:
                return
            rich.start()
            self._rich, self._bars = rich, Bars(rich)
            self._bars.start(*self._phase)
            self._bars.advance(*self._done)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._rich is not None:
                self._rich.stop()

    @property
    def shown(self) -> bool:
        return self._bars is not None


@contextmanager
def transfer_progress(*, quiet: bool = False) -> Iterator[Progress]:
    """Bars while the block runs, once a transfer is long; nothing when ``quiet`` or stdout
    is not a terminal."""
    if quiet or not sys.stdout.isatty():
        yield NoProgress()
        return
    bars = LateBars()
    try:
        yield bars
    finally:
        bars.close()

"""Progress bars for long transfers: one bar for files, one for bytes, on stderr.

Shown only to a person watching: quiet with ``--json`` or when stdout is not a terminal, so
pipes, scripts and the tests see only the result. Bars disappear when the transfer ends.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    DownloadColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text

from headwater.cli.output import stderr
from headwater.client.transfer import NoProgress, Progress


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


@contextmanager
def transfer_progress(*, quiet: bool = False) -> Iterator[Progress]:
    """Bars while the block runs, or nothing when ``quiet`` or stdout is not a terminal."""
    if quiet or not sys.stdout.isatty():
        yield NoProgress()
        return
    with RichProgress(
        TextColumn("{task.description:<11}"),
        BarColumn(),
        _Amount(),
        _Speed(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        yield Bars(progress)

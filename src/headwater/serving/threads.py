"""Where a sync function runs: threads off the event loop, or inline once it proved short.

``loop.run_in_executor`` costs 12-20 us of CPU per call here (a concurrent future, its
chaining to an asyncio future, two callbacks); this pool hands (future, function, args) to
a thread through a ``SimpleQueue`` and settles the asyncio future with one
``call_soon_threadsafe``: 4-6 us (README, "Sync calls"). Threads start as calls overlap, up
to ``size``, and are daemons, so a call that never returns cannot hold the process's exit.

``ProvedShort`` decides when a function may run inline on the loop instead (README, "Sync
calls"): the hand-off to a thread and back is most of a replica's cost on a short function.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class CallThreads:
    """Run sync calls in threads; used from one event loop."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size or min(32, (os.cpu_count() or 1) + 4)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._pending = 0  # calls handed over and not yet settled: read and written on the loop

    async def call(self, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """``function(*args)`` in a thread; its result or its exception."""
        result, error, _ = await self.call_timed(function, args)
        if error is not None:
            raise error
        return result

    async def call_timed(
        self, function: Callable[..., Any], args: tuple[Any, ...]
    ) -> tuple[Any, BaseException | None, float]:
        """``function(*args)`` in a thread: its result or the exception it raised, and the
        seconds it took there (wall time: what it would have held the loop)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, BaseException | None, float]] = loop.create_future()
        self._pending += 1
        if self._pending > len(self._threads) and len(self._threads) < self.size:
            self._start()
        self._jobs.put((loop, future, function, args))
        try:
            return await future
        finally:
            self._pending -= 1

    def close(self) -> None:
        """Let each thread end after its current call (without waiting for it)."""
        for _ in self._threads:
            self._jobs.put(None)
        self._threads = []

    def _start(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"hw-predict-{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, future, function, args = job
            started = time.perf_counter()
            try:
                result, error = function(*args), None
            except BaseException as raised:  # the caller gets it, whatever the user raised
                result, error = None, raised
            outcome = (result, error, time.perf_counter() - started)
            with suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
                loop.call_soon_threadsafe(_settle, future, outcome)


def _settle(
    future: asyncio.Future[tuple[Any, BaseException | None, float]],
    outcome: tuple[Any, BaseException | None, float],
) -> None:
    if not future.cancelled():  # cancelled: the request was abandoned (shutdown past its grace)
        future.set_result(outcome)


class ProvedShort:
    """Whether a sync function may run inline on the event loop: once it has proved short.

    Calls run in threads until a window of ``window`` of them all finished within ``long``
    seconds and at most ``slack`` of them took over ``short`` (a thread's wall time also
    counts waits for the GIL, hence the slack). Then they run inline, timed the same way:
    one inline call over ``long``, or a window with more than ``slack`` over ``short``,
    sends calls back to threads, and the next proof takes four times as many calls; after
    ``max_demotions`` they stay in threads. The cost of being wrong is one call: a call
    running inline holds the loop (``/healthz`` and other requests wait) until it returns,
    and every call after it goes to a thread. Plain ints and floats: one event loop uses it.
    """

    def __init__(
        self,
        *,
        short: float = 0.001,
        long: float = 0.02,
        window: int = 256,
        slack: float = 0.02,
        max_demotions: int = 3,
    ) -> None:
        self.short = short
        self.long = long
        self.slack = slack
        self.max_demotions = max_demotions
        self.inline = False
        self.demotions = 0
        self._window = window
        self._count = 0  # calls in the current window
        self._over = 0  # of them, over ``short``

    def record(self, seconds: float) -> None:
        """Count one call of ``seconds`` (made inline or in a thread, as ``inline`` says)."""
        if seconds > self.long:
            if self.inline:
                self._demote()
            else:
                self._count = self._over = 0  # start the proof again
            return
        self._count += 1
        if seconds > self.short:
            self._over += 1
        if self._count < self._window:
            return
        within = self._over <= self.slack * self._window
        self._count = self._over = 0
        if self.inline and not within:
            self._demote()
        elif not self.inline and within and self.demotions < self.max_demotions:
            self.inline = True

    def _demote(self) -> None:
        self.inline = False
        self.demotions += 1
        self._window *= 4
        self._count = self._over = 0

"""The threads that run a sync function off the event loop, at the least cost per call.

``loop.run_in_executor`` costs 12-20 us of CPU per call here (a concurrent future, its
chaining to an asyncio future, two callbacks); this pool hands (future, function, args) to
a thread through a ``SimpleQueue`` and settles the asyncio future with one
``call_soon_threadsafe``: 4-6 us (README, "Sync calls"). Threads start as calls overlap, up
to ``size``, and are daemons, so a call that never returns cannot hold the process's exit.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
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
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
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
            try:
                result, error = function(*args), None
            except BaseException as raised:  # the caller gets it, whatever the user raised
                result, error = None, raised
            with suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
                loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the request was abandoned (shutdown past its grace)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)

"""The SDK's outbox of metric points: nothing logged is lost while the server is away.

Points wait in memory up to a bound, then in a spool file (JSON lines), always in the order
they were logged: once the spool is in use every new point goes there until the sender has read
it all back, and the sender takes memory (older) before the spool (newer). So each key's points
travel in the order they were logged.

The sender takes one batch at a time and gets the *same* batch, with the same id, until it says
``done``: a retry after a lost answer resends that id, and the server stores a batch id once.
"""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

Point = tuple[str, int | None, float, float]

BATCH = 5000  # points per request: big enough to amortise HTTP, small enough to stream
MAX_MEMORY = 250_000  # points held in memory (~40 MB); past this they go to the spool file


@dataclass(frozen=True)
class Batch:
    id: str
    points: list[Point] = field(repr=False)


class Backoff:
    """Capped exponential delays with jitter, so many tasks that lost the same server do not
    all come back at the same instant."""

    def __init__(
        self, first: float = 0.2, cap: float = 5.0, rng: Callable[[], float] = random.random
    ) -> None:
        self.first, self.cap, self.rng = first, cap, rng
        self.tries = 0

    def next(self) -> float:
        delay: float = min(self.cap, self.first * 2.0**self.tries)
        self.tries += 1
        return delay * (0.5 + 0.5 * self.rng())

    def reset(self) -> None:
        self.tries = 0


def _line(point: Point) -> bytes:
    return json.dumps(point, separators=(",", ":")).encode() + b"\n"


def _point(line: bytes) -> Point:
    key, step, value, at = json.loads(line)
    return (key, step, value, at)


class Outbox:
    """Points not yet stored by the server, in logging order: memory, then a spool file."""

    def __init__(self, spool_dir: Path, *, memory: int = MAX_MEMORY, batch: int = BATCH) -> None:
        self.memory_bound = memory
        self.batch_size = batch
        name = f"headwater-metrics-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        self.spool_path = spool_dir / name
        self._memory: deque[Point] = deque()
        self._lock = threading.Lock()
        self._spooling = False  # new points go to the spool until it has been read back
        self._writer: IO[bytes] | None = None
        self._reader: IO[bytes] | None = None
        self._spooled = 0  # points in the spool not read back yet
        self._inflight: Batch | None = None

    # -- the logging side (a tight loop: the common case takes no lock) ----------------------

    def put(self, point: Point) -> None:
        if not self._spooling and len(self._memory) < self.memory_bound:
            self._memory.append(point)
            return
        with self._lock:
            if not self._spooling and len(self._memory) < self.memory_bound:
                self._memory.append(point)
                return
            if self._writer is None:
                self.spool_path.parent.mkdir(parents=True, exist_ok=True)
                self._writer = self.spool_path.open("ab")
            self._spooling = True
            self._writer.write(_line(point))
            self._spooled += 1

    def ready(self) -> int:
        """Points waiting in memory (the sender is woken at a batch's worth)."""
        return len(self._memory)

    # -- the sending side ------------------------------------------------------------------

    def take(self) -> Batch | None:
        """The batch to send: the one in flight until ``done``, else the next, else None."""
        with self._lock:
            if self._inflight is None:
                points: list[Point] = []
                memory = self._memory
                while memory and len(points) < self.batch_size:
                    points.append(memory.popleft())
                if not memory and len(points) < self.batch_size:
                    points += self._read_spool(self.batch_size - len(points))
                if points:
                    self._inflight = Batch(uuid.uuid4().hex, points)
            return self._inflight

    def done(self) -> None:
        """The batch in flight is settled (stored, or refused for good)."""
        with self._lock:
            self._inflight = None

    def pending(self) -> int:
        with self._lock:
            inflight = len(self._inflight.points) if self._inflight else 0
            return inflight + len(self._memory) + self._spooled

    def _read_spool(self, most: int) -> list[Point]:
        if not self._spooled:
            return []
        assert self._writer is not None
        self._writer.flush()
        if self._reader is None:
            self._reader = self.spool_path.open("rb")
        out = [_point(self._reader.readline()) for _ in range(min(most, self._spooled))]
        self._spooled -= len(out)
        if not self._spooled:  # all read back: start the file afresh, points go to memory
            self._writer.seek(0)
            self._writer.truncate()
            self._reader.seek(0)
            self._spooling = False
        return out

    # -- the end -----------------------------------------------------------------------------

    def drain_to(self, path: Path) -> int:
        """Write every point not stored (in flight, memory, spool) to ``path`` as JSON lines,
        in logging order, and forget them; the count written."""
        with self._lock:
            ahead = list(self._inflight.points) if self._inflight else []
            ahead.extend(self._memory)
            count = len(ahead) + self._spooled
            if not count:
                return 0
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as out:
                out.writelines(_line(p) for p in ahead)
                if self._spooled:
                    assert self._writer is not None
                    self._writer.flush()
                    reader = self._reader or self.spool_path.open("rb")
                    out.writelines(reader.readline() for _ in range(self._spooled))
                    if reader is not self._reader:
                        reader.close()
            self._inflight, self._spooled = None, 0
            self._memory.clear()
            return count

    def close(self) -> None:
        """Close and remove the spool file (call ``drain_to`` first to keep what it holds)."""
        with self._lock:
            for handle in (self._writer, self._reader):
                if handle is not None:
                    handle.close()
            self._writer = self._reader = None
            self.spool_path.unlink(missing_ok=True)

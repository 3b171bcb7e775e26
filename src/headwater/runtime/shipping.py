"""Output goes to the server as it comes: batched, ordered, nothing dropped.

Reader threads put raw chunks on one queue; one shipper sends them in numbered batches (every
``INTERVAL`` seconds or ``BATCH_BYTES``), retrying each batch until the server takes it. The
server ignores a resent sequence number, so a retry after a lost answer stores nothing twice.
Tag lines become tags in the same batch; chart lines become metric points.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any

from headwater.domain.task_output import ChartPoint, LineSplitter, TagLine, parse_line
from headwater.runtime.reporting import TaskApi, patiently

INTERVAL = 0.2
BATCH_BYTES = 512 * 1024
MAX_BUFFERED = 64 * 1024 * 1024  # past this, readers wait: memory stays bounded
READ_SIZE = 64 * 1024


@dataclass
class _Pending:
    chunks: deque[tuple[str, str]] = field(default_factory=deque)
    size: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    points: list[tuple[str, None, float, float]] = field(default_factory=list)


class LogShipper:
    def __init__(self, api: TaskApi, *, first_seq: int = 0) -> None:
        self.api = api
        self.seq = first_seq
        self._pending = _Pending()
        self._cond = threading.Condition()
        self._closed = False
        self._splitter = LineSplitter()
        self._thread = threading.Thread(target=self._run, name="hw-ship", daemon=True)
        self._thread.start()
        self.last_output = time.monotonic()
        self.error: Exception | None = None
        self._hold = False
        self._held: _Pending | None = None

    def write(self, stream: str, data: bytes) -> None:
        """Queue output; parses tag and chart lines of stdout on the way."""
        # NUL cannot be stored as text (PostgreSQL refuses it): binary output keeps its place
        text = data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        tags: dict[str, str] = {}
        points: list[tuple[str, None, float, float]] = []
        if stream == "stdout":
            now = time.time()
            for line in self._splitter.feed(data):
                found = parse_line(line)
                if isinstance(found, TagLine):
                    tags[found.key] = found.value
                elif isinstance(found, ChartPoint):
                    key = f"{found.chart}/{found.series}" if found.series else found.chart
                    points.append((key, None, found.value, now))
        with self._cond:
            while self._pending.size > MAX_BUFFERED and not self._closed:
                self._cond.wait(0.1)
            self._pending.chunks.append((stream, text))
            self._pending.size += len(text)
            self._pending.tags.update(tags)
            self._pending.points.extend(points)
            self.last_output = time.monotonic()
            if self._pending.size >= BATCH_BYTES:
                self._cond.notify_all()

    def system(self, text: str) -> None:
        """A line from the runtime itself (what it did, why it failed)."""
        self.write("system", (text.rstrip("\n") + "\n").encode())

    def pump(self, stream: str, pipe: IO[bytes]) -> threading.Thread:
        """Read ``pipe`` to its end in a thread of its own."""

        def read() -> None:
            fd = pipe.fileno()
            while True:
                data = os.read(fd, READ_SIZE)
                if not data:
                    break
                self.write(stream, data)
            pipe.close()

        thread = threading.Thread(target=read, name=f"hw-read-{stream}", daemon=True)
        thread.start()
        return thread

    def _take(self) -> _Pending | None:
        with self._cond:
            while not self._closed and self._pending.size < BATCH_BYTES:
                if self._cond.wait(INTERVAL) is False:
                    break
            taken = self._pending
            if not taken.chunks and not taken.tags and not taken.points:
                return None
            self._pending = _Pending()
            self._cond.notify_all()
            return taken

    def _body(self, batch: _Pending) -> dict[str, Any]:
        """A LogBatch body: neighbouring pieces of one stream merged, sequence numbers given."""
        merged: list[tuple[str, str]] = []
        for stream, text in batch.chunks:
            if merged and merged[-1][0] == stream and len(merged[-1][1]) < BATCH_BYTES:
                merged[-1] = (stream, merged[-1][1] + text)
            else:
                merged.append((stream, text))
        chunks = []
        for stream, text in merged:
            chunks.append({"seq": self.seq, "stream": stream, "text": text})
            self.seq += 1
        return {"chunks": chunks, "tags": dict(batch.tags)}

    def _send(self, batch: _Pending) -> None:
        base = self.api.base
        http = self.api.http
        if batch.chunks or batch.tags:
            body = self._body(batch)
            patiently(lambda: http.request("POST", f"{base}/logs", json=body))
        if batch.points:
            points = [list(p) for p in batch.points]
            patiently(lambda: http.request("POST", f"{base}/metrics", json={"points": points}))

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is not None:
                if self._closed and self._hold and not batch.points:
                    self._held = batch  # the last words travel with the final report
                    continue
                try:
                    self._send(batch)
                except Exception as exc:  # gave up: keep reading so the task is not blocked
                    self.error = exc
            elif self._closed:
                return

    def close(self, *, hold_last: bool = False) -> dict[str, Any] | None:
        """Send what is left (the partial last line included) and stop. With ``hold_last``,
        the last batch of lines is returned instead, as a LogBatch body for the final state
        report to carry: one request fewer for every task."""
        with self._cond:
            self._closed = True
            self._hold = hold_last
            self._cond.notify_all()
        self._thread.join()
        held = self._held or _Pending()
        for line in self._splitter.flush():
            found = parse_line(line)
            if isinstance(found, TagLine):
                held.tags[found.key] = found.value
            elif isinstance(found, ChartPoint):
                held.points.append((found.chart, None, found.value, time.time()))
        if held.points or not hold_last:
            self._send(held)
            return None
        return self._body(held) if held.chunks or held.tags else None

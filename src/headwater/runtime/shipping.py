"""Output goes to the server as it comes: batched, ordered, nothing dropped.

Reader threads put chunks on one queue; one shipper sends them in numbered batches (every
``INTERVAL`` seconds or ``BATCH_BYTES``), retrying each batch until the server takes it. The
server ignores a resent sequence number, so a retry after a lost answer stores nothing twice.
Tag lines become tags in the same batch; chart lines become metric points.

Memory stays bounded whatever the task prints and however long the server is away: past
``MAX_BUFFERED`` the readers wait (the task then blocks on its own pipe), and one request
never carries more than the API's limits allow (a 422 would lose the batch for good).
"""

from __future__ import annotations

import codecs
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any

from headwater.domain.masking import StreamMask, mask, masked_values
from headwater.domain.task_output import ChartPoint, LineSplitter, TagLine, parse_line
from headwater.runtime.reporting import TaskApi, patiently

INTERVAL = 0.2
BATCH_BYTES = 512 * 1024
MAX_BUFFERED = 64 * 1024 * 1024  # past this, readers wait: memory stays bounded
READ_SIZE = 64 * 1024
# One request's share: well under LogBatch's 10,000 chunks and MetricBatch's 20,000 points,
# and under the server's 8 MiB body limit once encoded: JSON spells a character outside ASCII
# in up to 12 bytes (a surrogate pair of \uXXXX), so 512 Ki characters stay under 6 MiB.
POST_TEXT = 512 * 1024
POST_CHUNKS = 2_000
POST_POINTS = 10_000
TAKE_TEXT = 4 * POST_TEXT  # what one round of the shipper holds in flight at most
POINT_COST = 64  # a point's rough weight against MAX_BUFFERED
MAX_METRIC_KEY = 255

Point = tuple[str, None, float, float]


@dataclass
class _Pending:
    chunks: deque[tuple[str, str]] = field(default_factory=deque)
    text: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    points: list[Point] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.text + POINT_COST * len(self.points)

    def empty(self) -> bool:
        return not self.chunks and not self.tags and not self.points


def _meaning(lines: list[str], now: float) -> tuple[dict[str, str], list[Point]]:
    """Tags and chart points among ``lines``; anything else (malformed lines too) is text."""
    tags: dict[str, str] = {}
    points: list[Point] = []
    for line in lines:
        found = parse_line(line)
        if isinstance(found, TagLine):
            tags[found.key] = found.value
        elif isinstance(found, ChartPoint):
            key = f"{found.chart}/{found.series}" if found.series else found.chart
            if len(key) <= MAX_METRIC_KEY:
                points.append((key, None, found.value, now))
    return tags, points


def _clean(text: str) -> str:
    # NUL cannot be stored as text (PostgreSQL refuses it): binary output keeps its place
    return text.replace("\x00", "\ufffd")


class LogShipper:
    def __init__(self, api: TaskApi, *, first_seq: int = 0) -> None:
        self.api = api
        self.seq = first_seq
        self._pending = _Pending()
        self._cond = threading.Condition()
        self._closed = False
        self.last_output = time.monotonic()
        self.error: Exception | None = None
        self._held: dict[str, Any] | None = None
        self._hold = False
        self._secrets: list[str] = []
        self._thread = threading.Thread(target=self._run, name="hw-ship", daemon=True)
        self._thread.start()

    def continue_from(self, seq: int) -> None:
        """Number this attempt's output from ``seq`` on (the spec's ``log_seq``): an earlier
        attempt's chunks hold the numbers below, and the server keeps the first of each.
        Called before anything is queued (the shipper numbers batches as it sends them)."""
        with self._cond:
            self.seq = max(self.seq, seq)

    # -- what goes in ------------------------------------------------------------------------

    def hide(self, values: list[str]) -> None:
        """Mask these secret values in everything read or said from now on (call it before
        the command starts: readers take the list when they start)."""
        self._secrets = masked_values(values)

    def _queue(self, stream: str, text: str, lines: list[str] | None = None) -> None:
        tags, points = _meaning(lines, time.time()) if lines else ({}, [])
        if self._secrets and tags:
            tags = {key: mask(value, self._secrets) for key, value in tags.items()}
        if not text and not tags and not points:
            return
        with self._cond:
            while self._pending.size > MAX_BUFFERED and not self._closed:
                self._cond.wait(0.1)  # back-pressure: the shipper catches up first
            if text:
                self._pending.chunks.append((stream, text))
                self._pending.text += len(text)
            self._pending.tags.update(tags)
            self._pending.points.extend(points)
            self.last_output = time.monotonic()
            if self._pending.size >= BATCH_BYTES:
                self._cond.notify_all()

    def system(self, text: str) -> None:
        """A line from the runtime itself (what it did, why it failed)."""
        self._queue("system", mask(_clean(text.rstrip("\n") + "\n"), self._secrets))

    def pump(self, stream: str, pipe: IO[bytes]) -> threading.Thread:
        """Read ``pipe`` to its end in a thread of its own. Decoding is incremental, so a
        character split between two reads stays whole; stdout lines are parsed for tags."""

        def read() -> None:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            splitter = LineSplitter() if stream == "stdout" else None
            masker = StreamMask(self._secrets)
            fd = pipe.fileno()
            try:
                while True:
                    data = os.read(fd, READ_SIZE)
                    text = masker.feed(_clean(decoder.decode(data, final=not data)))
                    if not data:
                        text += masker.flush()
                    lines: list[str] = []
                    if splitter is not None:
                        lines = splitter.feed(data) if data else splitter.flush()
                    self._queue(stream, text, lines)
                    if not data:
                        break
            except OSError as exc:
                self.system(f"could not read the command's {stream}: {exc}")
            finally:
                pipe.close()

        thread = threading.Thread(target=read, name=f"hw-read-{stream}", daemon=True)
        thread.start()
        return thread

    # -- what goes out -----------------------------------------------------------------------

    def _take(self) -> tuple[_Pending | None, bool]:
        """The next batch (at most ``TAKE_TEXT`` of text), and whether it is the last one."""
        with self._cond:
            while not self._closed and self._pending.size < BATCH_BYTES:
                if self._cond.wait(INTERVAL) is False:
                    break
            pending = self._pending
            if pending.empty():
                return None, self._closed
            taken = _Pending(tags=pending.tags)
            pending.tags = {}
            while pending.chunks and taken.text < TAKE_TEXT:
                stream, text = pending.chunks.popleft()
                taken.chunks.append((stream, text))
                taken.text += len(text)
            pending.text -= taken.text
            taken.points, pending.points = (
                pending.points[:POST_POINTS],
                pending.points[POST_POINTS:],
            )
            self._cond.notify_all()
            return taken, self._closed and pending.empty()

    def _bodies(self, batch: _Pending) -> list[dict[str, Any]]:
        """LogBatch bodies within the API's limits: neighbouring pieces of one stream merged
        up to ``BATCH_BYTES``, long pieces cut, sequence numbers given in order."""
        merged: list[tuple[str, str]] = []
        parts: list[str] = []  # joined once: adding strings one by one would be quadratic
        current, size = "", 0
        for stream, text in batch.chunks:
            for start in range(0, len(text), BATCH_BYTES):
                piece = text[start : start + BATCH_BYTES]
                if parts and (stream != current or size + len(piece) > BATCH_BYTES):
                    merged.append((current, "".join(parts)))
                    parts, size = [], 0
                current = stream
                parts.append(piece)
                size += len(piece)
        if parts:
            merged.append((current, "".join(parts)))
        bodies: list[dict[str, Any]] = []
        chunks: list[dict[str, Any]] = []
        size = 0
        for stream, text in merged:
            if chunks and (len(chunks) >= POST_CHUNKS or size + len(text) > POST_TEXT):
                bodies.append({"chunks": chunks, "tags": {}})
                chunks, size = [], 0
            chunks.append({"seq": self.seq, "stream": stream, "text": text})
            self.seq += 1
            size += len(text)
        if chunks or batch.tags:
            bodies.append({"chunks": chunks, "tags": {}})
        if bodies:
            bodies[-1]["tags"] = dict(batch.tags)
        return bodies

    def _post(self, what: str, body: dict[str, Any]) -> None:
        http, path = self.api.http, f"{self.api.base}/{what}"
        patiently(lambda: http.request("POST", path, json=body))

    def _run(self) -> None:
        while True:
            batch, last = self._take()
            if batch is None:
                if last:
                    return
                continue
            try:
                bodies = self._bodies(batch)
                if last and self._hold and bodies:
                    self._held = bodies.pop()  # the last words travel with the final report
                for body in bodies:
                    self._post("logs", body)
                if batch.points:
                    points = [list(p) for p in batch.points]  # one id: a resend stores once
                    self._post("metrics", {"points": points, "batch": uuid.uuid4().hex})
            except Exception as exc:  # gave up: keep reading so the task is not blocked
                self.error = exc
            if last:
                return

    def close(self, *, hold_last: bool = False) -> dict[str, Any] | None:
        """Send what is left and stop; call it once the readers are done. With ``hold_last``,
        the last batch of lines is returned instead, as a LogBatch body for the final state
        report to carry: one request fewer for every task."""
        with self._cond:
            self._closed = True
            self._hold = hold_last
            self._cond.notify_all()
        self._thread.join()
        held, self._held = self._held, None
        return held

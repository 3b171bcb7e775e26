"""A small HTTP/1.1 client for replicas' Unix sockets, with kept-alive connections.

A general client (httpx) costs more per request than the whole budget the gateway has (the
issue asks for at most 1 ms over a bare app), and a replica is our own code
(``headwater.serving``): one request at a time per connection, answers with
``Content-Length``. So this is an ``asyncio.Protocol`` that writes one request and parses one
answer, and a pool per replica that keeps idle connections for reuse.

What can go wrong, and what it means for the request:
- the connection cannot be made (no socket file, refused): the replica is gone and the
  request never reached it, so the gateway may send it to another replica (``Unreachable``);
- the connection drops before the whole answer came (the replica died while working on it):
  the request may have run, so it fails with a retry hint (``Dropped``), except on a reused
  connection that got no byte back, which the replica may have closed for idleness just as
  we wrote: that one is sent again once on a fresh connection.
"""

from __future__ import annotations

import asyncio
import time
from typing import cast
from urllib.parse import urlsplit

# A replica closes a connection idle for 75 s (serving/process.py KEEP_ALIVE): ours let go
# sooner, so a request rarely meets a connection the replica is closing (and when it does,
# it is sent again on a fresh one, see ReplicaPool.send).
IDLE_SECONDS = 60.0
MAX_HEAD = 64 << 10  # an answer's status line and headers
MAX_IDLE_PER_REPLICA = 256
# A Ray Serve replica that is starting answers this, having run nothing (serve_replica.py).
NOT_READY = b'"error":"replica_starting"'
NOT_READY_RETRIES = 8


class UpstreamError(Exception):
    """The replica could not answer this request."""


class Unreachable(UpstreamError):
    """No connection: the request never reached the replica."""


class Dropped(UpstreamError):
    """The connection ended before the answer did."""

    def __init__(self, message: str, *, got_bytes: bool) -> None:
        super().__init__(message)
        self.got_bytes = got_bytes


class TimedOut(UpstreamError):
    """The replica took longer than the gateway waits."""


class Malformed(UpstreamError):
    """The replica answered something that is not an HTTP/1.1 answer we understand."""


class _Connection(asyncio.Protocol):
    """One connection to a replica; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.last_used = time.monotonic()
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._head_end = -1
        self._length = -1
        self._status = 0
        self.keep_alive = True

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is not None:
            self._parse()
        # bytes with no request waiting: the replica is confused; the next use will fail

    def eof_received(self) -> bool:
        self._lost("the replica closed the connection")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(f"the connection to the replica was lost ({exc or 'closed'})")

    # -- a request ----------------------------------------------------------------------------

    def request(self, head: bytes, body: bytes) -> asyncio.Future[tuple[int, bytes]]:
        """Send one request; the future gives (status, body)."""
        assert self.transport is not None
        assert self._waiter is None
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        self._buffer.clear()
        self._head_end = self._length = -1
        self.keep_alive = True
        self.transport.write(head + body if len(body) < 16384 else head)
        if len(body) >= 16384:
            self.transport.write(body)
        return waiter

    def got_bytes(self) -> bool:
        return bool(self._buffer)

    def fail(self, error: UpstreamError) -> None:
        """End the request in progress with ``error`` and close (a timeout)."""
        self._finish(error)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _lost(self, why: str) -> None:
        self.closed = True
        self._finish(Dropped(why, got_bytes=bool(self._buffer)))

    def _finish(self, outcome: tuple[int, bytes] | UpstreamError) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            return
        if isinstance(outcome, UpstreamError):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)

    def _parse(self) -> None:
        buffer = self._buffer
        if self._head_end < 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    self.fail(Malformed("the replica's answer has no end of headers"))
                return
            try:
                self._read_head(bytes(buffer[:end]))
            except (ValueError, IndexError):
                self.fail(Malformed("the replica's answer is not HTTP/1.1"))
                return
            self._head_end = end + 4
        if self._length < 0:
            return  # no length: the answer ends when the connection does (_lost)
        if len(buffer) >= self._head_end + self._length:
            body = bytes(buffer[self._head_end : self._head_end + self._length])
            self._finish((self._status, body))

    def _read_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        self._status = int(lines[0].split(b" ", 2)[1])
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                self._length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                self.keep_alive = False
            elif name == b"transfer-encoding":
                raise ValueError("chunked answers are not expected from a replica")
        if self._length < 0:
            self._length = 0 if self._status in (204, 304) else -1
            self.keep_alive = self._length == 0


class ReplicaPool:
    """Kept-alive connections to one replica's Unix socket, or to a version's Ray Serve
    application (``http://host:port/prefix``: Serve's proxy, which answers with a length too)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._idle: list[_Connection] = []
        self.tcp: tuple[str, int] | None = None
        self.prefix = b""
        if path.startswith("http://"):
            split = urlsplit(path)
            self.tcp = (split.hostname or "127.0.0.1", split.port or 80)
            self.prefix = split.path.rstrip("/").encode()

    def head(self, head: bytes) -> bytes:
        """``head`` (a request to ``/predict``) for this upstream: under its path prefix."""
        if not self.prefix:
            return head
        method, _, rest = head.partition(b" ")
        return method + b" " + self.prefix + rest

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            if self.tcp is not None:
                _, protocol = await loop.create_connection(_Connection, *self.tcp)
                return protocol
            _, protocol = await loop.create_unix_connection(_Connection, self.path)
        except OSError as error:  # FileNotFoundError, ConnectionRefusedError, ...
            raise Unreachable(f"cannot connect to the replica: {error}") from None
        return protocol

    def _reuse(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.last_used < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    async def send(self, head: bytes, body: bytes, *, timeout: float) -> tuple[int, bytes]:
        """One request's (status, body); raises an ``UpstreamError``. Ray Serve may route a
        request to one of its replicas that is still starting, which answers 503 without
        running it (``serve_replica.py``): such a request is sent again, for Serve to route
        anew."""
        head = self.head(head)
        answer = await self._send(head, body, timeout)
        for _again in range(NOT_READY_RETRIES if self.tcp is not None else 0):
            if answer[0] != 503 or NOT_READY not in answer[1]:
                break
            answer = await self._send(head, body, timeout)
        return answer

    async def _send(self, head: bytes, body: bytes, timeout: float) -> tuple[int, bytes]:
        connection = self._reuse()
        if connection is not None:
            try:
                return await self._exchange(connection, head, body, timeout)
            except Dropped as error:
                if error.got_bytes:
                    raise
                # closed for idleness as we wrote, or the replica died: a fresh connection
                # tells which (Unreachable: it is gone, and the request may have run)
                try:
                    connection = await self._connect()
                except Unreachable as gone:
                    raise Dropped(str(gone), got_bytes=False) from None
        else:
            connection = await self._connect()
        return await self._exchange(connection, head, body, timeout)

    async def _exchange(
        self, connection: _Connection, head: bytes, body: bytes, timeout: float
    ) -> tuple[int, bytes]:
        waiter = connection.request(head, body)
        timer = asyncio.get_running_loop().call_later(
            timeout, connection.fail, TimedOut(f"the replica did not answer within {timeout:g} s")
        )
        try:
            answer = await waiter
        finally:
            timer.cancel()
        reusable = connection.keep_alive and not connection.closed
        if reusable and len(self._idle) < MAX_IDLE_PER_REPLICA:
            connection.last_used = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        return answer

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()


def predict_head(length: int, request_id: str) -> bytes:
    """The request line and headers of ``POST /predict`` with a JSON body."""
    return b"".join(
        (
            b"POST /predict HTTP/1.1\r\nhost: replica\r\ncontent-type: application/json\r\n",
            b"content-length: %d\r\nx-request-id: %s\r\n\r\n" % (length, request_id.encode()),
        )
    )

"""The replica's HTTP face: a raw ASGI callable, because this is the hot path.

Three routes: ``POST /predict`` (the calling convention, see ``calling.py``), ``GET
/healthz`` and ``GET /stats``. Every answer is JSON and carries ``X-Request-Id`` (the
caller's, when it sent a sane one). The function's exceptions become a 500 naming the
exception; the traceback goes to stderr, each line prefixed with the request id, because
stderr is the replica's log and the caller must never see our user's internals.

A sync function runs in a thread pool until it has proved short, then inline on the event
loop (``sync_calls="adaptive"``, the default; ``threads.ProvedShort``): the hand-off to a
thread and back costs more than a short function itself (README: numbers), but a long call
inline would stall ``/healthz`` and every other request, so one call over the limit sends
the rest back to threads.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import re
import secrets
import shutil
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from headwater.domain.errors import InvalidInput
from headwater.serving.calling import arguments, decode_files, private_folder, spreads_lists
from headwater.serving.jsonsafe import NotJson, dumps
from headwater.serving.threads import CallThreads, ProvedShort

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_MAX_BODY = 8 << 20  # the API's own default request limit
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


@dataclass
class Stats:
    """Counters since start, read by ``GET /stats`` (plain ints: one event loop writes them)."""

    in_flight: int = 0
    requests: int = 0
    errors: int = 0  # answered 5xx: the function failed or returned something not JSON
    rejected: int = 0  # answered 4xx: the caller's input was refused


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class ReplicaApp:
    """The ASGI application around one loaded function."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        accept_files: bool = False,
        max_body: int = DEFAULT_MAX_BODY,
        sync_calls: Literal["adaptive", "thread", "inline"] = "adaptive",
        proof: ProvedShort | None = None,
        log: TextIO | None = None,
    ) -> None:
        self.function = function
        self.accept_files = accept_files
        self.max_body = max_body
        self.stats = Stats()
        self._spread = spreads_lists(function)
        self._is_async = _is_async(function)
        threaded = sync_calls != "inline" and not self._is_async
        self._threads = CallThreads() if threaded else None
        # None: never inline (sync_calls="thread"); calls go inline while ``proof.inline``
        self.proof = (proof or ProvedShort()) if threaded and sync_calls == "adaptive" else None
        self._log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    def close(self) -> None:
        """Let go of the call threads without waiting for a call that never ends."""
        if self._threads is not None:
            self._threads.close()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = _request_id(scope["headers"])
        path, method = scope["path"], scope["method"]
        if path == "/predict" and method == "POST":
            self.stats.in_flight += 1
            self.stats.requests += 1
            try:
                status, body = await self._predict(scope, receive, request_id)
            except _Disconnected:
                return
            finally:
                self.stats.in_flight -= 1
            if status >= 500:
                self.stats.errors += 1
            elif status >= 400:
                self.stats.rejected += 1
        elif path == "/healthz" and method == "GET":
            status, body = 200, b'{"ok":true}'
        elif path == "/stats" and method == "GET":
            status, body = 200, dumps(asdict(self.stats))
        elif path in ("/predict", "/healthz", "/stats"):
            status, body = 405, _error("method_not_allowed", f"{method} {path} is not served")
        else:
            status, body = 404, _error("not_found", f"no route {path}", hint=_ROUTES_HINT)
        await _respond(send, status, body, request_id)

    async def _predict(self, scope: Scope, receive: Receive, request_id: str) -> tuple[int, bytes]:
        try:
            value = _input_params(await _read_body(scope, receive, self.max_body))
        except _TooLarge:
            detail = f"the request body is over the limit of {self.max_body} bytes"
            return 413, _error("too_large", detail, request_id=request_id)
        except InvalidInput as error:
            return 400, dumps({**error.to_dict(), "request_id": request_id})
        folder = private_folder() if self.accept_files else None
        try:
            if folder is not None:
                value = decode_files(value, folder)
            result = await self._call(arguments(value, spread=self._spread))
            return 200, dumps({"prediction": result})
        except InvalidInput as error:
            return 400, dumps({**error.to_dict(), "request_id": request_id})
        except NotJson as error:
            self._write_log(request_id, f"the prediction is not JSON: {error}\n")
            detail = f"the function's result cannot be written as JSON: {error}"
            hint = "return lists, dicts, strings, numbers, booleans or None (numpy is converted)"
            return 500, _error("prediction_not_json", detail, hint=hint, request_id=request_id)
        except (Exception, SystemExit) as error:
            self._write_log(request_id, _user_traceback(error))
            detail = _describe(error)
            return 500, _error("prediction_failed", detail, request_id=request_id)
        finally:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)

    async def _call(self, args: tuple[Any, ...]) -> Any:
        if self._is_async:
            return await self.function(*args)
        proof = self.proof
        if self._threads is None:
            result = self.function(*args)
        elif proof is None:
            result = await self._threads.call(self.function, args)
        elif proof.inline:
            started = time.perf_counter()
            try:
                result = self.function(*args)
            finally:
                proof.record(time.perf_counter() - started)
        else:
            result, error, seconds = await self._threads.call_timed(self.function, args)
            proof.record(seconds)
            if error is not None:
                raise error
        if inspect.isawaitable(result):  # a sync wrapper that hands back a coroutine
            result = await result
        return result

    def _write_log(self, request_id: str, text: str) -> None:
        stream = self._log or sys.stderr
        prefix = f"[{request_id}] "
        stream.write("".join(prefix + line + "\n" for line in text.rstrip("\n").splitlines()))
        stream.flush()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def app(
    function: Callable[..., Any],
    *,
    accept_files: bool = False,
    max_body: int = DEFAULT_MAX_BODY,
    sync_calls: Literal["adaptive", "thread", "inline"] = "adaptive",
) -> ReplicaApp:
    """The replica's ASGI callable around ``function`` (tests and benchmarks reuse it)."""
    return ReplicaApp(function, accept_files=accept_files, max_body=max_body, sync_calls=sync_calls)


_ROUTES_HINT = "a replica serves POST /predict, GET /healthz and GET /stats"


def _is_async(function: Callable[..., Any]) -> bool:
    call = getattr(function, "__call__", None)  # noqa: B004 - a callable object's own method
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(call)


_DETAIL_MAX = 2000  # characters of an exception's message the caller gets (the log has it all)


def _describe(error: BaseException) -> str:
    """``Type: message``, cut to a size a caller's log can hold; safe from odd ``__str__``."""
    try:
        message = str(error)
    except Exception:  # a user's exception whose __str__ itself fails
        message = "(its message could not be read)"
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 1] + "…"


_PLUMBING = (
    str(Path(__file__).parent),
    str(Path(asyncio.__file__).parent),
)


def _user_traceback(error: BaseException) -> str:
    """The traceback from the user's first frame on: our own plumbing tells them nothing."""
    frames = error.__traceback__
    while frames is not None and frames.tb_frame.f_code.co_filename.startswith(_PLUMBING):
        frames = frames.tb_next
    return "".join(traceback.format_exception(type(error), error, frames))


def _request_id(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(text):
                return text
            break
    # Unique across replicas without a uuid per request: a random prefix per process and a
    # counter (the gateway sends its own id; this is for callers that come straight here).
    return f"{_ID_PREFIX}-{next(_ID_COUNTER)}"


_ID_PREFIX = secrets.token_hex(6)
_ID_COUNTER = itertools.count(1)


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _input_params(raw: bytes) -> Any:
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise InvalidInput(
            f"the body is not JSON: {error}",
            where="body",
            hint='send {"input_params": ...} with Content-Type: application/json',
        ) from None
    if not isinstance(payload, dict) or "input_params" not in payload:
        raise InvalidInput(
            "the body has no input_params",
            where="body",
            hint='send {"input_params": X}: X is what the function receives',
        )
    return payload["input_params"]


def _error(
    code: str, detail: str, *, hint: str | None = None, request_id: str | None = None
) -> bytes:
    body: dict[str, Any] = {"error": code, "detail": detail}
    if hint:
        body["hint"] = hint
    if request_id:
        body["request_id"] = request_id
    return dumps(body)


async def _respond(send: Send, status: int, body: bytes, request_id: str) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

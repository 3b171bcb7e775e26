"""``POST /api/v1/endpoints/<slug>/predict`` and ``POST /e/<slug>/predict``: the hot path.

This is a raw ASGI handler that ``HeadwaterApp`` calls before FastAPI's routing and
middlewares (README: what they cost here). It does what those would have done and nothing
more: security headers on every answer, the body limit, a cheap JSON check (no pydantic),
then the key (``Authorization: Bearer KEY`` or cnvrg's ``Cnvrg-Api-Key: KEY``; 401 alike for
a wrong key and an unknown slug, so slugs cannot be probed), a replica by the traffic split,
and the body forwarded over a kept-alive Unix socket connection (``upstream.py``). Every
answer carries ``X-Request-Id``, the caller's when it sent a sane one.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

from starlette.types import Receive, Scope, Send

from headwater.db.database import Database
from headwater.domain.endpoints import key_hash, key_matches
from headwater.server.gateway.stats import GatewayMetrics, GatewayStats
from headwater.server.gateway.table import EndpointRoute, RouteTable, database_loader
from headwater.server.gateway.upstream import (
    Dropped,
    Malformed,
    ReplicaPool,
    TimedOut,
    Unreachable,
    predict_head,
)
from headwater.server.guards import _HEADERS, CSP

PREFIXES = ("/api/v1/endpoints/", "/e/")
SUFFIX = "/predict"
PARSE_LIMIT = 64 << 10  # bodies up to this are parsed in full; larger ones checked by shape
DEAD_SECONDS = 10.0  # a replica whose connection broke is skipped this long, then tried again
RETRY_AFTER = b"2"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,40}")
_NO_ENDPOINT = key_hash("hwe_no-endpoint")
_SECURITY = [(b"content-security-policy", CSP.encode()), *_HEADERS]
log = logging.getLogger("headwater.gateway")


@dataclass(frozen=True)
class GatewayConfig:
    """The gateway's limits and periods (from ``ServingSettings``, see ``create_app``)."""

    max_body_bytes: int = 10 << 20
    sample_default: str = "all"
    logged_bytes: int = 4096
    route_ttl: float = 1.0
    flush_seconds: float = 1.0
    upstream_timeout: float = 120.0


class Answer(NamedTuple):
    """What the gateway answers (a tuple: one per request, cheaper than a dataclass)."""

    status: int
    body: bytes
    retry_after: bytes | None = None
    close: bool = False  # the request's body was left unread


def slug_of(path: str) -> str | None:
    """The slug of a predict path; None for any other path (FastAPI answers those)."""
    for prefix in PREFIXES:
        if path.startswith(prefix) and path.endswith(SUFFIX):
            slug = path[len(prefix) : -len(SUFFIX)]
            if slug and "/" not in slug:
                return slug
    return None


def error_body(code: str, detail: str, *, where: str, hint: str, request_id: str) -> bytes:
    """The API's error shape, plus the request id."""
    body = {"error": code, "detail": detail, "where": where, "hint": hint}
    return json.dumps({**body, "request_id": request_id}, separators=(",", ":")).encode()


class Gateway:
    """The predict handler, its routing table, its replica connections and its counters."""

    def __init__(
        self,
        db: Database,
        config: GatewayConfig,
        *,
        source: str,
        metrics: GatewayMetrics,
    ) -> None:
        self.config = config
        self.table = RouteTable(database_loader(db, config.sample_default), ttl=config.route_ttl)
        self.stats = GatewayStats(
            db, source=source, logged_bytes=config.logged_bytes, flush_seconds=config.flush_seconds
        )
        self.metrics = metrics
        self._pools: dict[str, ReplicaPool] = {}

    def invalidate(self, slug: str | None = None) -> None:
        """What the management routes call after a change (a key rotation, a scale, a stop)."""
        self.table.invalidate(slug)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self.stats.close()

    # -- ASGI -------------------------------------------------------------------------------

    async def serve(self, slug: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one predict call (``HeadwaterApp`` found ``slug`` in its path)."""
        started = time.perf_counter()
        request_id, key, length = _read_headers(scope["headers"])
        if scope["method"] != "POST":
            body = error_body(
                "method_not_allowed",
                f"{scope['method']} is not served here",
                where="method",
                hint='Send POST with a JSON body {"input_params": ...}.',
                request_id=request_id,
            )
            await _respond(send, Answer(405, body), request_id)
            return
        raw = await self._read_body(receive, length, request_id)
        if isinstance(raw, Answer):
            await _respond(send, raw, request_id)
            return
        try:
            route = await self.table.get(slug)
        except Exception:  # the database is away: say so in our shape, not a bare 500
            log.exception("could not read the routing entry of endpoint %s", slug)
            await _respond(send, _unavailable(request_id, stopped=False), request_id)
            return
        if route is None:  # the same work as a wrong key, so the time tells nothing either
            key_matches(key or "", _NO_ENDPOINT)
        if route is None or key is None or not route.accepts(key):
            await _respond(send, _unauthorized(request_id), request_id)
            return
        answer = _check_body(raw, request_id) or await self.predict(
            route, raw, request_id, started=started
        )
        await _respond(send, answer, request_id)

    async def _read_body(
        self, receive: Receive, declared: int | None, request_id: str
    ) -> bytes | Answer:
        limit = self.config.max_body_bytes
        if declared is not None and declared > limit:
            return _too_large(limit, request_id, close=True)
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return Answer(499, b"", close=True)  # nobody to answer
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            size += len(chunk)
            if size > limit:
                return _too_large(limit, request_id, close=more)
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # -- forwarding -------------------------------------------------------------------------

    async def predict(
        self, route: EndpointRoute, body: bytes, request_id: str, *, started: float
    ) -> Answer:
        """Send ``body`` to a replica of ``route`` (a second one when the first is gone before
        it got the request); count, time and sample what came of it."""
        answer, version_id = await self._forward(route, body, request_id)
        seconds = time.perf_counter() - started
        now = time.time()
        if version_id is not None:
            self.stats.finished(route.endpoint_id, version_id, now, seconds * 1000, answer.status)
        number = route.numbers.get(version_id, 0) if version_id is not None else 0
        self.metrics.observe(route.slug, str(number or "none"), answer.status, seconds)
        counter, route.counter = route.counter, route.counter + 1
        if route.sample.keeps(counter):
            self.stats.sample(
                endpoint_id=route.endpoint_id,
                version_id=version_id,
                request_id=request_id,
                now=now,
                latency_ms=seconds * 1000,
                status=answer.status,
                input=body,
                output=answer.body,
            )
        return answer

    async def _forward(
        self, route: EndpointRoute, body: bytes, request_id: str
    ) -> tuple[Answer, str | None]:
        if not route.serving:
            return _unavailable(request_id, stopped=True), None
        head = predict_head(len(body), request_id)
        for _ in range(3):  # a replica gone before it got the request: try another
            chosen = route.choose(time.monotonic(), DEAD_SECONDS)
            if chosen is None:
                break
            replica_id, version_id = chosen.replica_id, chosen.version_id
            target = route.targets[replica_id]
            pool = self._pools.get(target.socket)
            if pool is None:
                pool = self._pools[target.socket] = ReplicaPool(target.socket)
            route.in_flight[replica_id] = route.in_flight.get(replica_id, 0) + 1
            self.stats.started(route.endpoint_id, version_id, time.time())
            try:
                status, out = await pool.send(head, body, timeout=self.config.upstream_timeout)
                return Answer(status, out), version_id
            except Unreachable as error:
                self.stats.left(route.endpoint_id, version_id)
                self._lost(route, replica_id, target.socket, error)
                continue
            except Dropped as error:
                self._lost(route, replica_id, target.socket, error)
                return _replica_lost(request_id), version_id
            except TimedOut as error:
                return _timed_out(request_id, str(error)), version_id
            except Malformed as error:
                log.warning("replica %s of %s: %s", replica_id, route.slug, error)
                return _bad_gateway(request_id), version_id
            finally:
                route.in_flight[replica_id] -= 1
        return _unavailable(request_id, stopped=False), None

    def _lost(self, route: EndpointRoute, replica_id: str, socket: str, error: Exception) -> None:
        log.warning("replica %s of endpoint %s is unreachable: %s", replica_id, route.slug, error)
        route.dead[replica_id] = time.monotonic()
        pool = self._pools.pop(socket, None)
        if pool is not None:
            pool.close()


def _read_headers(headers: Any) -> tuple[str, str | None, int | None]:
    """The request id (the caller's if sane, else a new one), the key, the declared length."""
    request_id: str | None = None
    key: str | None = None
    length: int | None = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token:
                key = token.strip().decode("latin-1")
        elif name == b"cnvrg-api-key":
            key = key or value.strip().decode("latin-1")
        elif name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"x-request-id":
            text = value.decode("latin-1")
            request_id = text if _REQUEST_ID.fullmatch(text) else None
    return request_id or f"{_ID_PREFIX}{next(_ID_COUNTER):016x}", key, length


# A new request id: 32 hex digits, a random prefix per process and a counter (unique without
# a getrandom call per request, which cost 2-6 us here; an id needs no secrecy).
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)


def _check_body(raw: bytes, request_id: str) -> Answer | None:
    """400 unless the body is a JSON object with ``input_params``. A large body is checked by
    its shape only (parsing it here would stall every other request): the replica parses it
    and answers the same 400 when it is not JSON after all."""
    if len(raw) <= PARSE_LIMIT:
        try:
            payload = json.loads(raw)
        except (ValueError, RecursionError) as error:
            return _not_json(request_id, str(error))
        if isinstance(payload, dict) and "input_params" in payload:
            return None
        return _no_input_params(request_id)
    shape = raw.strip()
    if not (shape.startswith(b"{") and shape.endswith(b"}")):
        return _not_json(request_id, "a large body that is not a JSON object")
    if b'"input_params"' not in raw:
        return _no_input_params(request_id)
    return None


def _not_json(request_id: str, why: str) -> Answer:
    body = error_body(
        "invalid_input",
        f"the body is not JSON: {why}",
        where="body",
        hint='Send {"input_params": ...} with Content-Type: application/json.',
        request_id=request_id,
    )
    return Answer(400, body)


def _no_input_params(request_id: str) -> Answer:
    body = error_body(
        "invalid_input",
        "the body has no input_params",
        where="body.input_params",
        hint='Send {"input_params": X}: X is what the function receives.',
        request_id=request_id,
    )
    return Answer(400, body)


def _too_large(limit: int, request_id: str, *, close: bool) -> Answer:
    body = error_body(
        "payload_too_large",
        f"the request body is larger than the limit of {limit:,} bytes",
        where="body",
        hint="Send less in one request; the server's admin sets the limit with "
        "HEADWATER_SERVING_BODY_LIMIT_BYTES.",
        request_id=request_id,
    )
    return Answer(413, body, close=close)


def _unauthorized(request_id: str) -> Answer:
    body = error_body(
        "unauthenticated",
        "no valid key for this endpoint",
        where="Authorization",
        hint="Send the endpoint's key as `Authorization: Bearer KEY` (or `Cnvrg-Api-Key: KEY`); "
        "`hw endpoint key rotate SLUG` makes a new one.",
        request_id=request_id,
    )
    return Answer(401, body)


def _unavailable(request_id: str, *, stopped: bool) -> Answer:
    detail = (
        "the endpoint is stopped" if stopped else "no replica of this endpoint is ready to answer"
    )
    hint = (
        "Its owner starts it again with `hw endpoint start SLUG`."
        if stopped
        else "Replicas are starting or being replaced: try again in a few seconds."
    )
    body = error_body("unavailable", detail, where="endpoint", hint=hint, request_id=request_id)
    return Answer(503, body, retry_after=RETRY_AFTER)


def _replica_lost(request_id: str) -> Answer:
    body = error_body(
        "replica_lost",
        "the replica answering this request stopped before it finished",
        where="endpoint",
        hint="Send the request again: another replica answers it.",
        request_id=request_id,
    )
    return Answer(503, body, retry_after=b"0")


def _timed_out(request_id: str, why: str) -> Answer:
    body = error_body(
        "timeout", why, where="endpoint", hint="The function takes too long.", request_id=request_id
    )
    return Answer(504, body)


def _bad_gateway(request_id: str) -> Answer:
    body = error_body(
        "bad_gateway",
        "the replica's answer could not be read",
        where="endpoint",
        hint="The endpoint's log may say why.",
        request_id=request_id,
    )
    return Answer(502, body)


async def _respond(send: Send, answer: Answer, request_id: str) -> None:
    if answer.status == 499:
        return
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(answer.body)),
        (b"x-request-id", request_id.encode()),
        *_SECURITY,
    ]
    if answer.retry_after is not None:
        headers.append((b"retry-after", answer.retry_after))
    if answer.close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})

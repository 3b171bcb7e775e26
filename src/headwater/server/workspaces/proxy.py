"""The workspace proxy: ``/workspaces/<id>/...`` (HTTP, every method, streamed both ways, and
WebSockets: kernels, terminals) to the workspace's JupyterLab on its Unix socket.

Every request and every WebSocket connect is checked here, before a byte goes on: the caller's
token (``Authorization: Bearer`` or the UI's session cookie), never a task's, and ``files: all``
plus ``jobs: all`` on the workspace's project. Nothing is cached between requests, so a member
who is removed (or a token revoked) is refused at the next one. The caller's own credentials
are stripped and JupyterLab's token is added as a header: it never reaches the browser.

Traffic is noted in memory (``Activity``) for the culler, which writes it in one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from urllib.parse import quote

import httpx
from sqlalchemy import bindparam, select
from starlette.types import Message, Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, unix_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from headwater.db.repos.projects import project_for
from headwater.db.repos.users import user_by_token
from headwater.db.workspace_tables import WorkspaceRow
from headwater.domain.access import Permission, allows
from headwater.domain.errors import (
    Conflict,
    HeadwaterError,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from headwater.domain.workspaces import WorkspaceState
from headwater.server.platform import Platform

log = logging.getLogger("headwater.workspaces")
PREFIX = "/workspaces/"
SESSION_COOKIE = "hw_session"  # deps.SESSION_COOKIE (deps imports FastAPI's request machinery)
OPEN_NEEDS = (Permission.FILES_WRITE, Permission.JOBS_WRITE)
# Not passed on: they describe one hop, or they are the caller's credentials.
_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"authorization",
        b"cookie",
        b"host",
    }
)
_WS_DROP = _HOP | {
    b"origin",
    b"sec-websocket-key",
    b"sec-websocket-version",
    b"sec-websocket-extensions",
    b"sec-websocket-protocol",
}


_WORKSPACE = select(
    WorkspaceRow.project_id,
    WorkspaceRow.name,
    WorkspaceRow.state,
    WorkspaceRow.address,
    WorkspaceRow.token_sealed,
).where(WorkspaceRow.id == bindparam("id"))


def workspace_of(path: str) -> str | None:
    """The workspace id a proxied path names, or None when the path is not the proxy's."""
    if not path.startswith(PREFIX):
        return None
    found = path[len(PREFIX) :].split("/", 1)[0]
    return found or None


class Activity:
    """When each workspace last saw traffic, in memory; ``drain`` hands the culler a batch."""

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def note(self, workspace_id: str) -> None:
        with self._lock:
            self._seen[workspace_id] = datetime.now(UTC)

    def drain(self) -> dict[str, datetime]:
        with self._lock:
            seen, self._seen = self._seen, {}
        return seen


@dataclass(frozen=True)
class Target:
    socket: str
    token: str


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", [])}


def _caller_token(headers: dict[bytes, bytes]) -> str | None:
    scheme, _, value = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = SimpleCookie()
    with contextlib.suppress(Exception):
        cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
    morsel = cookie.get(SESSION_COOKIE)
    return morsel.value if morsel else None


def _cross_origin(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """A cookie-borne request that another origin made the browser send: a WebSocket or a
    state-changing method whose ``Origin`` is not this server. SameSite keeps other sites'
    out, but another port of this host (a task's web app) is the same site."""
    if b"authorization" in headers:
        return False  # a bearer token is never sent by a browser on its own
    origin = headers.get(b"origin")
    if origin is None:
        return False
    unsafe = scope["type"] == "websocket" or scope["method"] not in ("GET", "HEAD", "OPTIONS")
    host = origin.split(b"://", 1)[-1]
    return unsafe and host != headers.get(b"host", b"")


def _cookies_without_session(headers: dict[bytes, bytes]) -> bytes | None:
    """The browser's cookies for JupyterLab (its ``_xsrf``), without Headwater's session."""
    raw = headers.get(b"cookie")
    if not raw:
        return None
    kept = [
        c.strip()
        for c in raw.decode("latin-1").split(";")
        if c.strip() and not c.strip().startswith(f"{SESSION_COOKIE}=")
    ]
    return "; ".join(kept).encode("latin-1") if kept else None


class WorkspaceProxy:
    """An ASGI app for every path under ``/workspaces/``."""

    def __init__(self, platform: Callable[[], Platform], activity: Activity) -> None:
        self._platform = platform
        self.activity = activity
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._tokens: dict[str, str] = {}  # sealed: opened

    # -- who may pass --------------------------------------------------------------------

    def authorize(self, workspace_id: str, token: str | None) -> Target:
        """The workspace's socket and token, when the caller may open it (else an error)."""
        if token is None:
            raise Unauthenticated(
                "opening a workspace needs a login",
                where="Authorization",
                hint="Log in to the UI, or send 'Authorization: Bearer <token>'.",
            )
        platform = self._platform()
        with platform.db.connect() as conn:  # a bare connection: this runs per request
            user = user_by_token(conn, token)
            if user.task is not None:
                raise PermissionDenied(
                    "a task's token cannot open a workspace",
                    where="Authorization",
                    hint="Open it as a user.",
                )
            found = conn.execute(_WORKSPACE, {"id": workspace_id}).first()
            if found is not None:
                project, caller = project_for(conn, found.project_id, user)
            if found is None or not allows(caller, Permission.VIEW):
                raise NotFound(
                    f"no workspace {workspace_id!r}",
                    where="workspace",
                    hint="List a project's workspaces with `hw workspace list`.",
                )
        if not all(allows(caller, p) for p in OPEN_NEEDS):
            raise PermissionDenied(
                "opening a workspace needs 'all' access to files and to jobs",
                where=f"project {project.name} ({project.id})",
                hint="Ask the project's owner for that access.",
            )
        if found.state != WorkspaceState.RUNNING.value or not found.address:
            raise Conflict(
                f"workspace {found.name} is {found.state}",
                where="workspace",
                hint="Wait until it is running (GET .../workspaces/<id>), or start another.",
            )
        opened = self._tokens.get(found.token_sealed)
        if opened is None:  # a workspace's token never changes: decrypted once
            opened = self._tokens[found.token_sealed] = platform.box.open(found.token_sealed)
        return Target(socket=str(found.address).partition(":")[2], token=opened)

    # -- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        workspace_id = workspace_of(scope["path"]) or ""
        headers = _headers(scope)
        try:
            if _cross_origin(scope, headers):
                raise PermissionDenied(
                    "a request from another origin cannot use your session here",
                    where="Origin",
                    hint="Open the workspace from Headwater's own pages.",
                )
            # inline, as deps.current_user does: two indexed reads cost less than a thread hop
            target = self.authorize(workspace_id, _caller_token(headers))
        except HeadwaterError as exc:
            await self._refuse(scope, send, headers, exc)
            return
        self.activity.note(workspace_id)
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send, target, headers)
        else:
            await self._http(scope, receive, send, target, headers)

    async def _refuse(
        self, scope: Scope, send: Send, headers: dict[bytes, bytes], exc: HeadwaterError
    ) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4000 + exc.status_code})
            return
        browser = scope["method"] == "GET" and b"text/html" in headers.get(b"accept", b"")
        if isinstance(exc, Unauthenticated) and browser:
            where = quote(scope["path"], safe="/")
            await _answer(send, 302, b"", [(b"location", f"/login?next={where}".encode())])
            return
        body = exc.to_dict()
        await _answer(
            send,
            exc.status_code,
            json.dumps(body).encode(),
            [(b"content-type", b"application/json")],
        )

    def _client(self, socket: str) -> httpx.AsyncClient:
        client = self._clients.get(socket)
        if client is None:
            transport = httpx.AsyncHTTPTransport(uds=socket)
            client = httpx.AsyncClient(transport=transport, timeout=None)
            self._clients[socket] = client
        return client

    async def _http(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        target: Target,
        headers: dict[bytes, bytes],
    ) -> None:
        forward = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP]
        forward.append((b"host", headers.get(b"host", b"workspace")))
        forward.append((b"authorization", f"token {target.token}".encode()))
        cookies = _cookies_without_session(headers)
        if cookies:
            forward.append((b"cookie", cookies))

        async def body() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return
                yield message.get("body", b"")
                if not message.get("more_body"):
                    return

        raw = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        url = "http://workspace" + raw.decode("latin-1") + ("?" + query.decode() if query else "")
        client = self._client(target.socket)
        has_body = b"content-length" in headers or b"transfer-encoding" in headers
        request = client.build_request(
            scope["method"], url, headers=forward, content=body() if has_body else None
        )
        try:
            upstream = await client.send(request, stream=True)
        except httpx.TransportError as exc:
            log.info("workspace at %s did not answer: %s", target.socket, exc)
            self._clients.pop(target.socket, None)  # gone, most likely: its pool with it
            await _answer(send, 502, b"the workspace did not answer", [])
            return
        try:
            kept = [
                (k.lower(), v)
                for k, v in upstream.headers.raw
                if k.lower() not in (b"connection", b"keep-alive", b"transfer-encoding")
            ]
            await send(
                {"type": "http.response.start", "status": upstream.status_code, "headers": kept}
            )
            async for chunk in upstream.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await upstream.aclose()

    async def _websocket(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        target: Target,
        headers: dict[bytes, bytes],
    ) -> None:
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        raw = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        uri = "ws://workspace" + raw.decode("latin-1") + ("?" + query.decode() if query else "")
        extra = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.lower() not in _WS_DROP
        ]
        extra.append(("Authorization", f"token {target.token}"))
        cookies = _cookies_without_session(headers)
        if cookies:
            extra.append(("Cookie", cookies.decode("latin-1")))
        protocols = scope.get("subprotocols") or None
        try:
            upstream = await unix_connect(
                target.socket,
                uri,
                additional_headers=extra,
                subprotocols=protocols,
                max_size=None,
                compression=None,
                ping_interval=None,
            )
        except (OSError, InvalidHandshake, TimeoutError) as exc:  # refused, or no socket
            log.info("workspace websocket to %s refused: %s", target.socket, exc)
            await send({"type": "websocket.close", "code": 1011})
            return
        await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
        await _bridge(
            receive, send, upstream, lambda: self.activity.note(workspace_of(scope["path"]) or "")
        )


async def _bridge(
    receive: Receive, send: Send, upstream: ClientConnection, noted: Callable[[], None]
) -> None:
    """Pass frames both ways until either side closes; each frame counts as activity."""

    async def from_browser() -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "websocket.disconnect":
                await upstream.close()
                return
            noted()
            if message.get("text") is not None:
                await upstream.send(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send(message["bytes"])

    async def from_workspace() -> None:
        try:
            async for data in upstream:
                noted()
                if isinstance(data, str):
                    await send({"type": "websocket.send", "text": data})
                else:
                    await send({"type": "websocket.send", "bytes": data})
        except ConnectionClosed:
            pass
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": 1000})

    tasks = [asyncio.create_task(from_browser()), asyncio.create_task(from_workspace())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await upstream.close()


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

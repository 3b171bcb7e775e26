"""ASGI guards in front of every route: request bodies within limits, security headers on
every answer.

A body is refused before anything parses it. FastAPI reads a JSON body whole and parses it
into Python objects, which costs about forty times its size (a 96 MB body took the server to
3.7 GB), so the byte limit is checked against ``Content-Length`` first and against the bytes
as they arrive otherwise; the rest is never read, and the connection closes after the 413
(HTTP/1.1 clients read an early answer: httpx and curl show the 413). The routes that
stream uploads to disk with checks of their own pass untouched; commits, whose entries grow
with the files of a tree, get a larger limit of their own. Nesting depth is checked on the
raw bytes (brackets outside strings), so ``[[[[...`` fifty thousand deep is a clean 400, not a
RecursionError in the parser or in the error answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater.domain.errors import HeadwaterError, InvalidInput

# The upload routes stream to disk and check what they store (PUT checks the digest, a batch
# has its own cap): no byte limit here.
_REPO = r"^/api/v1/projects/[^/]+/(?:files|datasets/[^/]+|models/[^/]+)"
_UPLOAD_ONE = re.compile(_REPO + r"/objects/[^/]+$")  # PUT
_UPLOAD_BATCH = re.compile(_REPO + r"/objects/batch$")  # POST
_COMMITS = re.compile(_REPO + r"/commits$")  # POST
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN = frozenset(b"[{")


class BodyTooLarge(HeadwaterError):
    status_code = 413
    code = "payload_too_large"


@dataclass(frozen=True)
class BodyLimits:
    """Bytes for a JSON body, bytes for a commit's body, levels of JSON nesting."""

    json_bytes: int
    commit_bytes: int
    json_depth: int

    def for_request(self, method: str, path: str) -> tuple[int, str] | None:
        """The byte limit for this request and the setting that sets it; None: not limited."""
        if method == "PUT" and _UPLOAD_ONE.match(path):
            return None
        if method == "POST" and _UPLOAD_BATCH.match(path):
            return None
        if method == "POST" and _COMMITS.match(path):
            return self.commit_bytes, "HEADWATER_MAX_COMMIT_BYTES"
        return self.json_bytes, _JSON_SETTING


_JSON_SETTING = "HEADWATER_MAX_BODY_BYTES"


def nesting_exceeds(body: bytes, limit: int) -> bool:
    """Whether JSON text nests arrays and objects deeper than ``limit`` (strings skipped)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # the common case: too few brackets to be that deep
    pieces = body.split(b'"')
    if b"\\" not in body and len(pieces) % 2:
        # No escapes and the quotes in pairs: the quotes alternate opening and closing a
        # string, so every other piece is outside one (what the pattern finds, several times
        # faster on a 10,000-entry commit)
        brackets = b"".join(pieces[::2]).translate(None, _NOT_BRACKETS)
    else:
        brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        if byte in _OPEN:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _mib(size: int) -> str:
    return f"{size / (1 << 20):g} MiB ({size:,} bytes)"


def _json_type(scope: Scope) -> bool:
    """Whether FastAPI would parse this body as JSON (no content type: parsed as JSON too)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media.endswith((b"/json", b"+json"))
    return True


def _length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send: Send, error: HeadwaterError, *, close: bool = False) -> None:
    """The error as the API's JSON; ``close`` when the rest of the body was left unread."""
    body = json.dumps(error.to_dict(), ensure_ascii=True, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Reads each limited body in full (at most its limit), then hands it to the app."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = self.limits.for_request(scope["method"], scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        limit, setting = found
        too_large = BodyTooLarge(
            f"the request body is larger than the limit of {_mib(limit)}",
            where="body",
            hint=f"Send less in one request; the server's admin sets the limit with {setting}.",
        )
        declared = _length(scope)
        if declared is not None and declared > limit:
            await _answer(send, too_large, close=True)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nobody to answer
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await _answer(send, too_large, close=more)
                return
        if body and _json_type(scope) and nesting_exceeds(bytes(body), self.limits.json_depth):
            await _answer(send, _too_deep(self.limits.json_depth))
            return
        await self.app(scope, _replay(bytes(body), receive), send)


def _too_deep(limit: int) -> InvalidInput:
    return InvalidInput(
        f"the JSON body nests arrays and objects deeper than {limit} levels",
        where="body",
        hint="Flatten the value: no Headwater request nests more than a few levels.",
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the buffered body once, then waits on the real one (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


# The UI is one script and its stylesheets from this origin; React sets inline styles through
# the DOM (CSSOM), which a policy without 'unsafe-inline' allows: the whole tests/e2e/ui suite
# runs under it without one violation. Nothing may frame a page (clickjacking), and no page
# sends its address to another site.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Swagger UI and ReDoc (FastAPI's pages) load their scripts and styles from a CDN and start
# with an inline script: those two pages only get a policy that allows that.
DOCS_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
        "font-src 'self' https://fonts.gstatic.com",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    )
)
DOCS_PAGES = ("/docs", "/docs/oauth2-redirect", "/redoc")
_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeadersMiddleware:
    """Adds CSP, X-Frame-Options, nosniff and Referrer-Policy to every answer that lacks them
    (a route may set a stricter CSP of its own, as the file content route does)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = (DOCS_CSP if scope["path"] in DOCS_PAGES else CSP).encode()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                extra = [(b"content-security-policy", csp), *_HEADERS]
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)

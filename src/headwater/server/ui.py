"""The web UI: the Vite build in ``static/`` served at ``/``, with client routes falling back to
``index.html``. The API, health, metrics and docs paths never fall back: an unknown one is a 404.

Hashed files under ``/assets/`` never change, so browsers may keep them for a year;
``index.html`` is revalidated on every load so a new build shows at once. Text files go out
gzipped to browsers that accept it (the JavaScript is a third of its size so), compressed once
per build file and kept in memory.
"""

from __future__ import annotations

import gzip
import mimetypes
import re
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

STATIC_DIR = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Paths the server owns: an unknown one there is an error, never the UI's index page.
RESERVED = ("api", "healthz", "metrics", "docs", "redoc")
_HASHED = re.compile(r"^assets/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$")
COMPRESSIBLE = frozenset({".html", ".js", ".css", ".svg", ".json", ".map", ".txt"})

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Headwater</title></head><body>
<h1>Headwater</h1><p>The web UI is not built in this installation. Build it with
<code>cd ui &amp;&amp; npm ci &amp;&amp; npm run build</code> (or reinstall the package,
which builds it), or use the <a href="/docs">API docs</a>.</p></body></html>"""


class UIPathConvertor(Convertor[str]):
    """Any path outside the server's own prefixes (see ``RESERVED``)."""

    regex = r"(?!(?:" + "|".join(RESERVED) + r")(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("uipath", UIPathConvertor())


@lru_cache(maxsize=256)
def _gzipped(path: Path, mtime_ns: int, size: int) -> bytes:
    """``path`` compressed; keyed by mtime and size too, so a rebuilt file is compressed anew."""
    return gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)


def _send(request: Request, path: Path, cache: str) -> Response:
    headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
    accepts = request.headers.get("accept-encoding", "")
    if path.suffix in COMPRESSIBLE and "gzip" in accepts.lower():
        stat = path.stat()
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type.endswith("javascript"):
            media_type += "; charset=utf-8"
        body = _gzipped(path, stat.st_mtime_ns, stat.st_size)
        headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=media_type, headers=headers)
    return FileResponse(path, headers=headers)


def _index(request: Request, static: Path) -> Response:
    index = static / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, headers={"Cache-Control": REVALIDATE})
    return _send(request, index, REVALIDATE)


def _file(static: Path, path: str) -> Path | None:
    """The built file ``path`` names, if it exists inside ``static`` (no escaping it)."""
    if not path or path.endswith("/"):
        return None
    candidate = (static / path).resolve()
    try:
        candidate.relative_to(static.resolve())
    except ValueError:
        return None
    return candidate if candidate.is_file() else None


def install(app: FastAPI, static: Path = STATIC_DIR) -> None:
    """Serve the UI from ``static``. Call last: the fallback route matches every other path."""

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return _index(request, static)

    async def client_route(request: Request) -> Response:
        path: str = request.path_params["path"]
        found = _file(static, path)
        if found is not None:
            return _send(request, found, IMMUTABLE if _HASHED.match(path) else REVALIDATE)
        if path.startswith("assets/"):
            # A missing asset is a stale page asking for an old build: say so, not index.html.
            raise HTTPException(status_code=404, detail=f"no file {path!r} in this UI build")
        return _index(request, static)

    app.router.routes.append(
        Route("/{path:uipath}", client_route, methods=["GET", "HEAD"], include_in_schema=False)
    )

"""The API's own documentation: the OpenAPI document, Swagger UI at ``/docs``, ReDoc at
``/redoc``. Public, or behind login (a token or the UI's session), as the settings say
(``ServerSettings.docs_are_public``); ``/metrics`` follows the same setting in ``app.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, JSONResponse

from headwater.server.deps import current_user

OPENAPI_URL = "/api/v1/openapi.json"


def login_unless(public: bool) -> Sequence[Any]:
    """Route dependencies: none when public, else a known caller."""
    return [] if public else [Depends(current_user)]


def install(app: FastAPI, *, public: bool) -> None:
    """Serve the document and its two viewers (the app is made with all three off)."""
    guard = login_unless(public)
    redirect = "/docs/oauth2-redirect"

    @app.get(OPENAPI_URL, include_in_schema=False, dependencies=guard)
    def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=guard)
    def swagger_ui() -> HTMLResponse:
        title = f"{app.title} - Swagger UI"
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL, title=title, oauth2_redirect_url=redirect
        )

    @app.get(redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False, dependencies=guard)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=OPENAPI_URL, title=f"{app.title} - ReDoc")

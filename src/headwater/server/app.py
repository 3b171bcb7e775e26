"""``create_app()``: the FastAPI application with every router under ``/api/v1``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from headwater import __version__
from headwater.server import errors
from headwater.server.metrics import Metrics, MetricsMiddleware
from headwater.server.platform import Platform
from headwater.server.routes import auth, members, projects, secrets, settings, users, webhooks
from headwater.settings import ServerSettings, get_settings

API_PREFIX = "/api/v1"
ROUTERS = (auth, users, projects, members, settings, secrets, webhooks)


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids (the function names), so the generated UI client stays stable."""
    return route.name


def create_app(server_settings: ServerSettings | None = None) -> FastAPI:
    config = server_settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform = getattr(app.state, "platform", None)
        if platform is None:
            platform = Platform.start(config)
            app.state.platform = platform
        try:
            yield
        finally:
            platform.close()

    app = FastAPI(
        title="Headwater",
        version=__version__,
        description="Self-hosted MLOps platform: projects, experiments, flows and endpoints.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        openapi_url=f"{API_PREFIX}/openapi.json",
        responses={
            400: {"description": "Invalid input"},
            401: {"description": "No or unknown token"},
        },
    )
    # Start at once, not only on the first request, so a bad database fails loudly at start.
    app.state.platform = Platform.start(config)
    metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    errors.install(app)
    for module in ROUTERS:
        app.include_router(module.router, prefix=API_PREFIX)

    @app.get("/healthz", tags=["health"], include_in_schema=True)
    def healthz() -> JSONResponse:
        with app.state.platform.db.read() as session:
            session.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app

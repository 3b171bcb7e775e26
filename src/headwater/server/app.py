"""``create_app()``: the FastAPI application with every router under ``/api/v1``."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.types import Receive, Scope, Send

from headwater import __version__
from headwater.server import docs, errors, ui
from headwater.server.gateway import Gateway, GatewayConfig, slug_of
from headwater.server.gateway.accesslog import quiet_access_log, skip_predict_calls
from headwater.server.gateway.stats import GatewayMetrics
from headwater.server.guards import BodyLimitMiddleware, BodyLimits, SecurityHeadersMiddleware
from headwater.server.metrics import Metrics, MetricsMiddleware
from headwater.server.platform import Platform
from headwater.server.routes import (
    admin,
    auth,
    collections,
    compute,
    endpoint_traffic,
    endpoint_try,
    endpoints,
    experiments,
    flowruns,
    flows,
    members,
    model_versions,
    monitoring,
    people,
    projects,
    repos,
    secrets,
    settings,
    tensorboards,
    users,
    webhooks,
    workspaces,
)
from headwater.server.workspaces.proxy import Activity, WorkspaceProxy, workspace_of
from headwater.server.workspaces.service import Workspaces
from headwater.settings import ServerSettings, get_settings

API_PREFIX = "/api/v1"
ROUTERS: tuple[APIRouter, ...] = (
    # First: routes are matched in order, and a running task calls these most.
    experiments.router,
    auth.router,
    users.router,
    projects.router,
    members.router,
    settings.router,
    secrets.router,
    webhooks.router,
    repos.files_router,
    collections.datasets_collection,
    collections.models_collection,
    # after the collections: their `/{name}` must not swallow the routes below it
    collections.dataset_queries,
    repos.datasets_router,
    repos.models_router,
    model_versions.router,
    compute.router,
    monitoring.router,
    people.router,
    flows.router,
    flowruns.router,
    flows.hooks,
    endpoints.router,
    endpoint_traffic.router,  # the request log and traffic of one endpoint (server/gateway)
    endpoint_try.router,  # a member's predict without a key, through the gateway
    workspaces.router,
    tensorboards.router,  # a workspace of kind tensorboard; an experiment's own TensorBoard
    admin.router,
)


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids (the function names), so the generated UI client stays stable."""
    return route.name


class HeadwaterApp(FastAPI):
    """FastAPI, with the predict paths answered ahead of its routing and middlewares: that
    path is the serving hot path, and the gateway adds the headers it needs itself."""

    gateway: Gateway | None = None
    workspace_proxy: WorkspaceProxy | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = self.gateway
        if gateway is not None and scope["type"] == "http":
            slug = slug_of(scope["path"])
            if slug is not None:
                quiet_access_log(send)  # predict calls have the request log instead
                await gateway.serve(slug, scope, receive, send)
                return
        proxy = self.workspace_proxy
        # JupyterLab's own pages, kernels and terminals, behind the login: server/workspaces
        if proxy is not None and scope["type"] != "lifespan" and workspace_of(scope["path"]):
            await proxy(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def gateway_config(config: ServerSettings) -> GatewayConfig:
    serving = config.serving
    return GatewayConfig(
        max_body_bytes=serving.body_limit_bytes,
        sample_default=serving.request_log,
        logged_bytes=serving.logged_body_bytes,
    )


def create_app(server_settings: ServerSettings | None = None) -> HeadwaterApp:
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
            workspaces_service = getattr(app.state, "workspaces", None)
            if workspaces_service is not None:
                workspaces_service.close()
            gateway = getattr(app.state, "gateway", None)
            if gateway is not None:
                gateway.close()  # its last counts and samples, while the database is open
            platform.close()

    app = HeadwaterApp(
        title="Headwater",
        version=__version__,
        description="Self-hosted MLOps platform: projects, experiments, flows and endpoints.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        # served by docs.install, public or behind login as the settings say
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        responses={
            400: {"description": "Invalid input"},
            401: {"description": "No or unknown token"},
        },
    )
    # Start at once, not only on the first request, so a bad database fails loudly at start.
    app.state.platform = Platform.start(config)
    metrics = Metrics()
    app.gateway = app.state.gateway = Gateway(
        app.state.platform.db,
        gateway_config(config),
        source=f"{socket.gethostname()[:28]}:{os.getpid()}",
        metrics=GatewayMetrics(metrics.registry),
    )
    skip_predict_calls()  # uvicorn's access log: predict calls have the request log instead
    activity = Activity()
    app.workspace_proxy = WorkspaceProxy(lambda: app.state.platform, activity)
    app.state.workspaces = Workspaces(app.state.platform, activity)
    app.state.workspaces.start_checking(config.workspace_check_seconds)
    # The last added runs first: headers go on every answer (a 413 too), bodies are checked
    # before any route reads one.
    limits = BodyLimits(
        json_bytes=config.max_body_bytes,
        commit_bytes=config.max_commit_bytes,
        json_depth=config.max_json_depth,
    )
    app.add_middleware(BodyLimitMiddleware, limits=limits)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeadersMiddleware)
    errors.install(app)
    public = config.docs_are_public()
    docs.install(app, public=public)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)

    metrics.templates = {
        id(c.original_route): c.path for c in iter_route_contexts(app.routes) if c.path
    }

    @app.get("/healthz", tags=["health"], include_in_schema=True)
    def healthz() -> JSONResponse:
        """Whether the server and its database answer, and its engine: leading, standby or off."""
        platform = app.state.platform
        with platform.db.read() as session:
            session.execute(text("SELECT 1"))
        engine = "off"
        if platform.settings.engine:
            engine = "leading" if platform.engine.leading else "standby"
        return JSONResponse({"status": "ok", "version": __version__, "engine": engine})

    @app.get(
        "/metrics", tags=["health"], include_in_schema=False, dependencies=docs.login_unless(public)
    )
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    ui.install(app)  # last: its fallback answers every GET no route above claims
    return app

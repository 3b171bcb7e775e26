"""The predict gateway (issue 13): keys, traffic split, replica connections, stats, request log.

``hotpath.Gateway`` answers ``POST /api/v1/endpoints/<slug>/predict`` and ``/e/<slug>/predict``
ahead of FastAPI (``server/app.py`` ``HeadwaterApp``); ``gateway_of(app)`` hands it to the
routes that need it (replay, and ``invalidate(slug)`` after a management change).
"""

from __future__ import annotations

from typing import Any

from headwater.server.gateway.hotpath import Answer, Gateway, GatewayConfig, slug_of

__all__ = ["Answer", "Gateway", "GatewayConfig", "gateway_of", "slug_of"]


def gateway_of(app: Any) -> Gateway:
    """The app's gateway (``create_app`` puts it on ``app.state.gateway``)."""
    gateway: Gateway = app.state.gateway
    return gateway

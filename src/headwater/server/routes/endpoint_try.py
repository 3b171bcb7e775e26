"""The try route: a project member calls an endpoint with their own login, no endpoint key.

The UI's "try it" box and ``hw endpoint predict`` without ``--key`` use it. It takes jobs read
on the endpoint's project (whoever may see an endpoint may try it, as in the UI), checks the
body as the public predict route does, and forwards it through the gateway's own ``predict``
(same traffic split, replica connections, stats and request log): there is one proxy only.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from headwater.db.repos.endpoints import EndpointRepo
from headwater.domain.access import Permission
from headwater.domain.endpoint_records import Endpoint
from headwater.domain.errors import Conflict
from headwater.server.deps import PlatformDep, ProjectAccess, require
from headwater.server.gateway import Answer, gateway_of
from headwater.server.gateway.hotpath import _check_body, _too_large
from headwater.server.platform import Platform

router = APIRouter(prefix="/projects/{project_id}/endpoints/{ref}", tags=["endpoints"])
Reader = Annotated[ProjectAccess, Depends(require(Permission.JOBS_READ))]


@router.post(
    "/predict",
    responses={200: {"description": "What the endpoint answers, as a predict call would"}},
)
async def try_endpoint(
    ref: str, access: Reader, platform: PlatformDep, request: Request
) -> Response:
    """Call the endpoint as the logged-in user (jobs read): the UI's "try it" box."""
    started = time.perf_counter()
    endpoint = await run_in_threadpool(_endpoint, platform, access.project.id, ref)
    gateway = gateway_of(request.app)
    request_id = uuid.uuid4().hex
    raw = await request.body()
    answer: Answer | None
    if len(raw) > gateway.config.max_body_bytes:
        answer = _too_large(gateway.config.max_body_bytes, request_id, close=False)
    else:
        answer = _check_body(raw, request_id)
    if answer is None:
        route = await gateway.table.get(endpoint.slug)
        if route is None or route.endpoint_id != endpoint.id:  # deleted meanwhile
            raise Conflict(f"endpoint {ref!r} no longer serves", where="endpoint")
        answer = await gateway.predict(route, raw, request_id, started=started)
    headers = {"X-Request-Id": request_id}
    if answer.retry_after is not None:
        headers["Retry-After"] = answer.retry_after.decode()
    return Response(
        answer.body, status_code=answer.status, media_type="application/json", headers=headers
    )


def _endpoint(platform: Platform, project_id: str, ref: str) -> Endpoint:
    with platform.db.read() as session:
        return EndpointRepo(session).get(project_id, ref)

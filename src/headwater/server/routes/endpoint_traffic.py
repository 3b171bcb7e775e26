"""What an endpoint served: the sampled request log, replays, and the traffic charts' buckets.

Endpoints are jobs: reading takes jobs read; a replay sends a request to the user's
endpoint, so it takes jobs all. The gateway (``server/gateway``) writes what these read.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from headwater.db.repos.endpoints import EndpointRepo
from headwater.domain.access import Permission
from headwater.domain.endpoint_records import Endpoint, LoggedRequest, TrafficBucket
from headwater.domain.errors import Conflict, InvalidInput
from headwater.domain.ids import MAX_NUMBER
from headwater.domain.latency import LatencyHistogram
from headwater.schemas.common import Page
from headwater.schemas.endpoints import RequestOut, TrafficOut, TrafficPoint
from headwater.server.deps import PlatformDep, ProjectAccess, require
from headwater.server.gateway import gateway_of
from headwater.server.gateway.stats import BUCKET_SECONDS
from headwater.server.platform import Platform

router = APIRouter(prefix="/projects/{project_id}/endpoints/{ref}", tags=["endpoints"])
Reader = Annotated[ProjectAccess, Depends(require(Permission.JOBS_READ))]
Writer = Annotated[ProjectAccess, Depends(require(Permission.JOBS_WRITE))]
Offset = Annotated[int, Query(ge=0, le=MAX_NUMBER)]
Limit = Annotated[int, Query(ge=1, le=500)]
TRAFFIC_WINDOW = timedelta(minutes=15)  # what the charts show unless asked for more
TRAFFIC_MAX = timedelta(hours=6)  # 4,320 buckets per version at most


@router.get("/requests", response_model=Page[RequestOut])
def list_endpoint_requests(
    ref: str, access: Reader, platform: PlatformDep, offset: Offset = 0, limit: Limit = 50
) -> Page[RequestOut]:
    """The endpoint's sampled requests, newest first, input and output truncated."""
    with platform.db.read() as session:
        repo = EndpointRepo(session)
        endpoint = repo.get(access.project.id, ref)
        items, total = repo.requests(endpoint.id, offset=offset, limit=limit)
        numbers = {v.id: v.number for v in repo.versions(endpoint.id)}
    return Page(
        items=[_request_out(r, numbers) for r in items], total=total, offset=offset, limit=limit
    )


def _request_out(r: LoggedRequest, numbers: dict[str, int]) -> RequestOut:
    return RequestOut(
        id=r.id,
        request_id=r.request_id,
        version=numbers.get(r.version_id) if r.version_id else None,
        at=r.at,
        latency_ms=r.latency_ms,
        status=r.status,
        input=r.input,
        output=r.output,
    )


@router.post(
    "/requests/{request_id}/replay",
    responses={200: {"description": "What the endpoint answers now, as a predict call would"}},
)
async def replay_endpoint_request(
    ref: str, request_id: int, access: Writer, platform: PlatformDep, request: Request
) -> Response:
    """Send a logged request's input to the endpoint again; answers what it answers now."""
    project_id = access.project.id
    endpoint, logged = await run_in_threadpool(_logged, platform, project_id, ref, request_id)
    body = _replayable(logged)
    gateway = gateway_of(request.app)
    route = await gateway.table.get(endpoint.slug)
    if route is None or route.endpoint_id != endpoint.id:  # deleted meanwhile
        raise Conflict(f"endpoint {ref!r} no longer serves", where="endpoint")
    replay_id = uuid.uuid4().hex
    answer = await gateway.predict(route, body, replay_id, started=time.perf_counter())
    headers = {"X-Request-Id": replay_id}
    if answer.retry_after is not None:
        headers["Retry-After"] = answer.retry_after.decode()
    return Response(
        answer.body, status_code=answer.status, media_type="application/json", headers=headers
    )


def _logged(
    platform: Platform, project_id: str, ref: str, request_id: int
) -> tuple[Endpoint, LoggedRequest]:
    with platform.db.read() as session:
        repo = EndpointRepo(session)
        endpoint = repo.get(project_id, ref)
        return endpoint, repo.logged_request(endpoint.id, request_id)


def _replayable(logged: LoggedRequest) -> bytes:
    """The logged body, unless the log cut it (then it is not the request any more)."""
    try:
        payload = json.loads(logged.input)
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or "input_params" not in payload:
        raise Conflict(
            f"request {logged.id} cannot be replayed: its logged input is not the whole request",
            where="request",
            hint="The log keeps inputs up to HEADWATER_SERVING_LOGGED_BODY_BYTES; send a "
            "large input again with `hw endpoint predict`.",
        )
    return logged.input.encode()


@router.get("/traffic", response_model=TrafficOut)
def endpoint_traffic(
    ref: str,
    access: Reader,
    platform: PlatformDep,
    since: Annotated[
        datetime | None, Query(description="From this time on (UTC); default: 15 minutes ago")
    ] = None,
) -> TrafficOut:
    """Per version and 5-second bucket: requests/s, p50/p99 latency, errors, peak in flight."""
    now = datetime.now(UTC)
    start = _since(since, now)
    with platform.db.read() as session:
        repo = EndpointRepo(session)
        endpoint = repo.get(access.project.id, ref)
        buckets = repo.traffic(endpoint.id, start)
        numbers = {v.id: v.number for v in repo.versions(endpoint.id)}
    return TrafficOut(
        bucket_seconds=BUCKET_SECONDS,
        points=[_point(b, numbers) for b in buckets if b.version_id in numbers],
    )


def _since(since: datetime | None, now: datetime) -> datetime:
    if since is None:
        return now - TRAFFIC_WINDOW
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if since < now - TRAFFIC_MAX:
        raise InvalidInput(
            f"since {since.isoformat()} is more than {TRAFFIC_MAX} ago",
            where="since",
            hint="The traffic view covers the last 6 hours; Prometheus (/metrics) keeps more.",
        )
    return since


def _point(bucket: TrafficBucket, numbers: dict[str, int]) -> TrafficPoint:
    histogram = LatencyHistogram.from_list(bucket.latency)
    return TrafficPoint(
        at=bucket.bucket,
        version=numbers[bucket.version_id],
        requests=bucket.requests,
        errors=bucket.errors,
        rate=bucket.requests / BUCKET_SECONDS,
        p50_ms=histogram.quantile(0.5),
        p99_ms=histogram.quantile(0.99),
        inflight_peak=bucket.inflight_peak,
    )

"""Endpoints (issue 13): the project's endpoints. Endpoints are jobs: reading takes jobs read,
changing them jobs all."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from headwater.db.repos.endpoints import EndpointRepo
from headwater.domain.access import Permission
from headwater.domain.endpoint_records import Endpoint
from headwater.domain.ids import MAX_NUMBER
from headwater.schemas.common import Page
from headwater.schemas.endpoints import EndpointOut
from headwater.server.deps import PlatformDep, ProjectAccess, require

router = APIRouter(prefix="/projects/{project_id}", tags=["endpoints"])
Reader = Annotated[ProjectAccess, Depends(require(Permission.JOBS_READ))]
Writer = Annotated[ProjectAccess, Depends(require(Permission.JOBS_WRITE))]
Offset = Annotated[int, Query(ge=0, le=MAX_NUMBER)]
Limit = Annotated[int, Query(ge=1, le=500)]


def endpoint_out(e: Endpoint) -> EndpointOut:
    return EndpointOut(
        id=e.id,
        title=e.title,
        slug=e.slug,
        status=e.status,
        desired=e.desired,
        min_replicas=e.min_replicas,
        max_replicas=e.max_replicas,
        replicas_wanted=e.replicas_wanted,
        definition=e.definition,
        flow_run=e.flow_run_number,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


@router.get("/endpoints", response_model=Page[EndpointOut])
def list_endpoints(
    access: Reader, platform: PlatformDep, offset: Offset = 0, limit: Limit = 50
) -> Page[EndpointOut]:
    """The project's endpoints by title; endpoints are jobs, so reading takes jobs read."""
    with platform.db.read() as session:
        items, total = EndpointRepo(session).page(access.project.id, offset=offset, limit=limit)
    return Page(items=[endpoint_out(e) for e in items], total=total, offset=offset, limit=limit)

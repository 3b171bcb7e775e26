"""Projects (seed 000 General, seed 001): create, list, show, update, delete, activity, leave."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from headwater.db.repos.activity import ActivityRepo
from headwater.db.repos.projects import ProjectRepo
from headwater.db.repos.secrets import SecretRepo
from headwater.db.repos.users import UserRepo
from headwater.domain.errors import Conflict, InvalidInput
from headwater.schemas.common import Page
from headwater.schemas.projects import ActivityOut, ProjectCreate, ProjectOut, ProjectUpdate
from headwater.server.deps import CurrentUser, OwnerAccess, PlatformDep, ViewAccess
from headwater.server.views import activity_out, project_out

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("", response_model=Page[ProjectOut])
async def list_projects(
    user: CurrentUser,
    platform: PlatformDep,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    search: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[ProjectOut]:
    def page() -> Page[ProjectOut]:
        with platform.db.read() as session:
            items, total = ProjectRepo(session).list_for(
                user, offset=offset, limit=limit, search=search
            )
        return Page(
            items=[project_out(p, c) for p, c in items], total=total, offset=offset, limit=limit
        )

    # Milliseconds of work: off the event loop, in one hop, so short requests are not stuck
    # behind it (uvloop runs ready work before it answers finished requests).
    return await run_in_threadpool(page)


@router.post("", response_model=ProjectOut, status_code=201)
def create_project(body: ProjectCreate, user: CurrentUser, platform: PlatformDep) -> ProjectOut:
    with platform.db.write() as session:
        repo = ProjectRepo(session)
        project = repo.create(user, body.name, description=body.description, public=body.public)
        if body.keys_from_personal:
            personal_id = UserRepo(session).get(user.id).personal_project_id
            if personal_id is not None:
                SecretRepo(session, platform.box).copy_keys(personal_id, project)
        caller = repo.caller(project, user)
    return project_out(project, caller)


@router.get("/{project_id}", response_model=ProjectOut)
async def get_project(access: ViewAccess) -> ProjectOut:
    return project_out(access.project, access.caller)


@router.patch("/{project_id}", response_model=ProjectOut)
def update_project(body: ProjectUpdate, access: OwnerAccess, platform: PlatformDep) -> ProjectOut:
    if body.name is not None and body.name != access.project.name:
        raise InvalidInput(
            "a project's name cannot change after it is created",
            where="name",
            hint="Create a new project with the name you want, or change the description.",
        )
    with platform.db.write() as session:
        project = ProjectRepo(session).update(
            access.project, access.user, description=body.description, public=body.public
        )
    return project_out(project, access.caller)


@router.delete("/{project_id}", status_code=204)
def delete_project(access: OwnerAccess, platform: PlatformDep) -> None:
    with platform.db.write() as session:
        ProjectRepo(session).delete(access.project)


@router.get("/{project_id}/activity", response_model=list[ActivityOut])
def list_activity(
    access: ViewAccess,
    platform: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[ActivityOut]:
    with platform.db.read() as session:
        items = ActivityRepo(session).recent(access.project.id, limit=limit, before=before)
    return [activity_out(a) for a in items]


@router.post("/{project_id}/leave", status_code=204)
def leave_project(access: ViewAccess, platform: PlatformDep) -> None:
    if access.caller.grant is None:
        raise Conflict(
            "only a member can leave a project",
            where="project",
            hint="An owner deletes the project instead (`hw project delete`).",
        )
    with platform.db.write() as session:
        ProjectRepo(session).remove_member(access.project, access.user, access.user, left=True)

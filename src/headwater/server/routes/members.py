"""Members and their access per resource type (seeds 001 and 003)."""

from __future__ import annotations

from fastapi import APIRouter

from headwater.db.repos.projects import ProjectRepo
from headwater.db.repos.users import UserRepo
from headwater.domain.access import Grant, ResourceType, check_member_change
from headwater.schemas.projects import MemberAdd, MemberOut, MemberUpdate
from headwater.server.deps import ManageAccess, PlatformDep, ViewAccess
from headwater.server.views import member_out

router = APIRouter(prefix="/projects/{project_id}/members", tags=["members"])


@router.get("", response_model=list[MemberOut])
def list_members(access: ViewAccess, platform: PlatformDep) -> list[MemberOut]:
    """The project's members and their access."""
    with platform.db.read() as session:
        return [member_out(m) for m in ProjectRepo(session).members(access.project.id)]


@router.post("", response_model=MemberOut, status_code=201)
def add_member(body: MemberAdd, access: ManageAccess, platform: PlatformDep) -> MemberOut:
    """Add a member; a managing member grants at most what they hold."""
    grant = Grant(access={r: getattr(body, r.value) for r in ResourceType}, manage=body.manage)
    with platform.db.write() as session:
        user = UserRepo(session).find(body.email)
        check_member_change(access.caller, member_id=user.id, current=None, new=grant)
        member = ProjectRepo(session).add_member(access.project, access.user, user, grant)
    return member_out(member)


@router.patch("/{member}", response_model=MemberOut)
def update_member(
    member: str, body: MemberUpdate, access: ManageAccess, platform: PlatformDep
) -> MemberOut:
    """Change a member's access: never one's own, never past what the caller holds."""
    with platform.db.write() as session:
        user = UserRepo(session).find(member)
        repo = ProjectRepo(session)
        current = repo.member_grant(access.project, user)
        grant = Grant(
            access={r: getattr(body, r.value) or current.level(r) for r in ResourceType},
            manage=current.manage if body.manage is None else body.manage,
        )
        check_member_change(access.caller, member_id=user.id, current=current, new=grant)
        updated = repo.update_member(access.project, access.user, user, grant)
    return member_out(updated)


@router.delete("/{member}", status_code=204)
def remove_member(member: str, access: ManageAccess, platform: PlatformDep) -> None:
    """Remove a member (not oneself: leaving is ``POST .../leave``)."""
    with platform.db.write() as session:
        user = UserRepo(session).find(member)
        repo = ProjectRepo(session)
        current = repo.member_grant(access.project, user)
        check_member_change(access.caller, member_id=user.id, current=current, new=None)
        repo.remove_member(access.project, access.user, user)

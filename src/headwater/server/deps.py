"""Request dependencies: the platform, the caller, and the caller's access to a project."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request

from headwater.db.repos.projects import project_for
from headwater.db.repos.users import user_by_token
from headwater.domain.access import Caller, Permission, allows
from headwater.domain.entities import Project, User
from headwater.domain.errors import NotFound, PermissionDenied, Unauthenticated
from headwater.domain.task_scope import check_task_call, task_caller
from headwater.server.platform import Platform

SESSION_COOKIE = "hw_session"


async def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def bearer_token(request: Request) -> str | None:
    """The caller's token: the Authorization header, else the UI's session cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.cookies.get(SESSION_COOKIE)


async def current_user(request: Request, platform: PlatformDep) -> User:
    """The caller. A task's token passes only the operations ``TASK_OPERATIONS`` lists, in
    its own project (and on its own experiment where the route names one): checked here,
    once, so every route is closed to tasks unless that table opens it."""
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated(
            "this request carries no token",
            where="Authorization",
            hint="Send 'Authorization: Bearer <token>', or log in with `hw login`.",
        )
    with platform.db.connect() as conn:
        user = user_by_token(conn, token)
    if user.task is not None:
        route = request.scope.get("route")
        check_task_call(user.task, getattr(route, "name", ""), request.path_params)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise PermissionDenied(
            "only an admin may do this", where="user", hint="Ask an admin of this server."
        )
    return user


AdminUser = Annotated[User, Depends(admin_user)]


@dataclass(frozen=True)
class ProjectAccess:
    """The project a request names, the caller, and what the caller may do there."""

    project: Project
    user: User
    caller: Caller

    def may(self, permission: Permission) -> bool:
        return allows(self.caller, permission)


def _describe(permission: Permission) -> str:
    if permission is Permission.OWNER:
        return "only the project's owner (or an admin) may do this"
    if permission is Permission.MANAGE_MEMBERS:
        return "managing members needs the manage right"
    resource, _, action = permission.value.partition(":")
    level = "read" if action == "read" else "all"
    return f"this needs '{level}' access to {resource}"


def require(permission: Permission) -> Callable[..., Awaitable[ProjectAccess]]:
    """A dependency that loads ``project_id`` and checks ``permission`` for the caller."""

    async def dependency(
        project_id: Annotated[str, Path(min_length=1, max_length=64)],
        user: CurrentUser,
        platform: PlatformDep,
    ) -> ProjectAccess:
        with platform.db.connect() as conn:
            project, caller = project_for(conn, project_id, user)
        if user.task is not None:  # its own rights, whoever launched it
            caller = task_caller(user.task, user_id=user.id, project_public=project.public)
        if not allows(caller, Permission.VIEW):
            # Do not reveal that a private project exists.
            raise NotFound(
                f"no project with id {project_id!r}",
                where="project",
                hint="List the projects you can access with `hw project list`.",
            )
        if not allows(caller, permission):
            raise PermissionDenied(
                _describe(permission),
                where=f"project {project.name} ({project.id})",
                hint="Ask the project's owner for that access.",
            )
        return ProjectAccess(project=project, user=user, caller=caller)

    dependency.__name__ = f"require_{permission.name.lower()}"
    # Routes record what they require so the access-matrix test can read it.
    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def own_task(permission: Permission) -> Callable[..., Awaitable[ProjectAccess]]:
    """``require(permission)``, and the caller must be the experiment's own task: what only
    the task may write (its state, logs, tags, metrics, values, outputs) or read (its spec,
    with the project's secrets). ``current_user`` has checked that the path's experiment is
    the task's own."""
    check = require(permission)

    # ``check`` is local: given as a default, not in an annotation FastAPI would look up.
    async def dependency(ref: str, access: ProjectAccess = Depends(check)) -> ProjectAccess:
        if access.user.task is None or not access.user.task.owns(ref):
            raise PermissionDenied(
                "only the experiment's own task may do this: its state, logs, tags, metrics "
                "and values are what its task reported, and nobody else's",
                where=f"experiment {ref}",
                hint="Inside the task, the runtime and `headwater.Experiment()` use the "
                "task's HEADWATER_TOKEN; a user's token cannot write them.",
            )
        return access

    dependency.__name__ = f"own_task_{permission.name.lower()}"
    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


ViewAccess = Annotated[ProjectAccess, Depends(require(Permission.VIEW))]
OwnerAccess = Annotated[ProjectAccess, Depends(require(Permission.OWNER))]
ManageAccess = Annotated[ProjectAccess, Depends(require(Permission.MANAGE_MEMBERS))]

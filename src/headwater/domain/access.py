"""Who may do what in a project (seeds 000 Collaborators, 001 Members, 003 Sharing).

A project has one owner (its creator). Members get ``read`` or ``all`` per resource type and may
hold ``manage`` (add and remove members). Settings, secrets, third-party keys and webhooks are the
owner's. Admins may do everything. A public project may be read by every user. Nobody grants
more than they hold (``check_member_change``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from headwater.domain.errors import PermissionDenied


class ResourceType(StrEnum):
    FILES = "files"
    JOBS = "jobs"  # experiments, flows, live jobs, endpoints
    DATASETS = "datasets"
    MODELS = "models"


class AccessLevel(StrEnum):
    READ = "read"  # list, details, logs
    ALL = "all"  # create, edit, delete too


class Permission(StrEnum):
    VIEW = "view"  # the project, its dashboard and activity feed
    FILES_READ = "files:read"
    FILES_WRITE = "files:write"
    JOBS_READ = "jobs:read"
    JOBS_WRITE = "jobs:write"
    DATASETS_READ = "datasets:read"
    DATASETS_WRITE = "datasets:write"
    MODELS_READ = "models:read"
    MODELS_WRITE = "models:write"
    MANAGE_MEMBERS = "members:manage"
    OWNER = "owner"  # settings, secrets, keys, webhooks, rename-free updates, delete

    @classmethod
    def read(cls, resource: ResourceType) -> Permission:
        return cls(f"{resource.value}:read")

    @classmethod
    def write(cls, resource: ResourceType) -> Permission:
        return cls(f"{resource.value}:write")


def default_access() -> dict[ResourceType, AccessLevel]:
    return dict.fromkeys(ResourceType, AccessLevel.READ)


@dataclass(frozen=True)
class Grant:
    """A member's access: a level per resource type, plus the right to manage members."""

    access: dict[ResourceType, AccessLevel] = field(default_factory=default_access)
    manage: bool = False

    def level(self, resource: ResourceType) -> AccessLevel:
        return self.access.get(resource, AccessLevel.READ)


@dataclass(frozen=True)
class Caller:
    """What the rules need to know of the caller in one project."""

    user_id: str
    is_admin: bool
    is_owner: bool
    grant: Grant | None  # None: not a member
    project_public: bool

    @property
    def role(self) -> str:
        if self.is_owner:
            return "owner"
        if self.is_admin:
            return "admin"
        if self.grant is not None:
            return "member"
        return "public" if self.project_public else "none"


def allows(caller: Caller, permission: Permission) -> bool:
    """The one access rule. Pure, so the whole table is unit-tested."""
    if caller.is_owner or caller.is_admin:
        return True
    if permission is Permission.OWNER:
        return False
    grant = caller.grant
    if grant is None:
        # A public project lets every user read everything but owner-only parts.
        return caller.project_public and (
            permission is Permission.VIEW or permission.value.endswith(":read")
        )
    if permission is Permission.VIEW:
        return True
    if permission is Permission.MANAGE_MEMBERS:
        return grant.manage
    resource_name, _, action = permission.value.partition(":")
    level = grant.level(ResourceType(resource_name))
    return action == "read" or level is AccessLevel.ALL


def exceeds(grant: Grant, held: Grant) -> list[str]:
    """What ``grant`` gives beyond ``held`` (e.g. ``['jobs: all', 'manage']``); empty if none."""
    over = [
        f"{r.value}: all"
        for r in ResourceType
        if grant.level(r) is AccessLevel.ALL and held.level(r) is not AccessLevel.ALL
    ]
    if grant.manage and not held.manage:
        over.append("manage")
    return over


def check_member_change(
    caller: Caller, *, member_id: str, current: Grant | None, new: Grant | None
) -> None:
    """Whether ``caller`` may give ``member_id`` the grant ``new`` (None: remove them), where
    they hold ``current`` now (None: not a member yet). The owner and admins may do anything;
    a member who manages may not touch their own row (leaving is separate), nor grant more
    than they hold, nor change or remove a member who holds more than they do."""
    if caller.is_owner or caller.is_admin:
        return
    held = caller.grant or Grant()
    if member_id == caller.user_id:
        raise PermissionDenied(
            "a member may not change or remove their own access",
            where="member",
            hint="Ask the project's owner; to leave the project use `hw project leave ID`.",
        )
    above = exceeds(current, held) if current is not None else []
    if above:
        raise PermissionDenied(
            f"this member holds more than you do ({', '.join(above)})",
            where="member",
            hint="Only the project's owner (or a member holding as much) may change them.",
        )
    beyond = exceeds(new, held) if new is not None else []
    if beyond:
        raise PermissionDenied(
            f"you may not grant more than you hold: {', '.join(beyond)}",
            where="access",
            hint="Grant at most your own access, or ask the project's owner.",
        )

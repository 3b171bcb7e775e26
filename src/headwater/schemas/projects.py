from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from headwater.domain.access import AccessLevel
from headwater.domain.entities import ActivityKind
from headwater.schemas.common import Model, Schema


class ProjectCreate(Model):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=10_000)
    public: bool = False
    keys_from_personal: bool = Field(
        False, description="Copy the third-party keys of the caller's Personal project"
    )


class ProjectUpdate(Model):
    """Only description and privacy change; a project's name is fixed at creation (seed 000)."""

    name: str | None = Field(None, description="Refused unless equal to the current name")
    description: str | None = Field(None, max_length=10_000)
    public: bool | None = None


class AccessOut(Schema):
    files: AccessLevel
    jobs: AccessLevel
    datasets: AccessLevel
    models: AccessLevel
    manage: bool


class ProjectOut(Schema):
    id: str
    name: str
    description: str
    public: bool
    personal: bool
    owner: str
    created_at: datetime
    role: str = Field(description="The caller's role: owner, admin, member or public")
    access: AccessOut = Field(description="What the caller may do per resource type")


class MemberAdd(Model):
    email: str = Field(min_length=3, max_length=254)
    files: AccessLevel = AccessLevel.READ
    jobs: AccessLevel = AccessLevel.READ
    datasets: AccessLevel = AccessLevel.READ
    models: AccessLevel = AccessLevel.READ
    manage: bool = False


class MemberUpdate(Model):
    files: AccessLevel | None = None
    jobs: AccessLevel | None = None
    datasets: AccessLevel | None = None
    models: AccessLevel | None = None
    manage: bool | None = None


class MemberOut(Schema):
    user_id: str
    username: str
    email: str
    access: AccessOut
    added_at: datetime


class ActivityOut(Schema):
    id: int
    kind: ActivityKind
    actor: str
    message: str
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict)

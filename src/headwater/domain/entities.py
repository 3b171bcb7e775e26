"""Entities of the control plane, as the repositories hand them out (never ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from headwater.domain.access import Grant
from headwater.domain.task_scope import TaskScope

PERSONAL_PROJECT_NAME = "Personal"


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str
    is_admin: bool
    created_at: datetime
    personal_project_id: str | None = None
    # Set when the caller is a task's own token: the one experiment it may act for.
    task: TaskScope | None = None


@dataclass(frozen=True)
class TokenInfo:
    """One of a user's tokens as they may see it: never its secret."""

    id: str
    kind: str  # api or session
    created_at: datetime
    expires_at: datetime | None
    current: bool  # the token of the request that lists it


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    owner_id: str
    owner_username: str
    description: str
    public: bool
    personal: bool
    created_at: datetime


@dataclass(frozen=True)
class Member:
    project_id: str
    user_id: str
    username: str
    email: str
    grant: Grant
    added_at: datetime


WEBHOOK_EVENTS = (
    "experiment.started",
    "experiment.succeeded",
    "experiment.failed",
    "flow.succeeded",
    "flow.failed",
    "flow.pending_approval",
    "endpoint.deployed",
)


class ActivityKind(StrEnum):
    PROJECT_CREATED = "project_created"
    PROJECT_UPDATED = "project_updated"
    MEMBER_ADDED = "member_added"
    MEMBER_CHANGED = "member_changed"
    MEMBER_REMOVED = "member_removed"
    MEMBER_LEFT = "member_left"
    SETTINGS_CHANGED = "settings_changed"
    SECRET_SET = "secret_set"
    SECRET_DELETED = "secret_deleted"
    KEY_SET = "key_set"
    KEY_DELETED = "key_deleted"
    WEBHOOKS_CHANGED = "webhooks_changed"
    RESOURCE_CREATED = "resource_created"
    RESOURCE_DELETED = "resource_deleted"
    VERSION_COMMITTED = "version_committed"
    FLOW_CHANGED = "flow_changed"
    RUN_STARTED = "run_started"
    RUN_ENDED = "run_ended"


@dataclass(frozen=True)
class Activity:
    id: int
    project_id: str
    actor: str
    kind: ActivityKind
    message: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SecretInfo:
    key: str
    created_at: datetime
    updated_at: datetime
    owner_only: bool = False  # only tasks the owner or an admin started receive it


@dataclass(frozen=True)
class ThirdPartyKey:
    type: str
    key_id: str
    secret: str
    updated_at: datetime


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    created_at: datetime

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from headwater.domain.naming import SECRET_VALUE_MAX
from headwater.domain.project_settings import ProjectSettings
from headwater.schemas.common import Model, Schema

__all__ = [
    "EnvSet",
    "KeyOut",
    "KeySet",
    "ProjectSettings",
    "SecretOut",
    "SecretSet",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookOut",
]


class EnvSet(Model):
    env: dict[str, str] = Field(description="Variables to set; others are kept")


class SecretSet(Model):
    value: str = Field(max_length=SECRET_VALUE_MAX * 4, description="At most 253 characters")
    owner_only: bool | None = Field(
        default=None,
        description="Only tasks started by the project's owner or an admin receive it (a task "
        "can print what it receives). Left out: a new secret is not owner-only, an existing "
        "one keeps its setting",
    )


class SecretOut(Schema):
    key: str
    created_at: datetime
    updated_at: datetime
    owner_only: bool = False


class KeySet(Model):
    key_id: str = Field(min_length=1, max_length=1024)
    secret: str = Field(min_length=1, max_length=16_384)


class KeyOut(Schema):
    type: str
    key_id: str
    updated_at: datetime


class WebhookCreate(Model):
    url: str = Field(min_length=8, max_length=2048, pattern=r"^https?://\S+$")
    events: list[str] = Field(
        default_factory=lambda: ["experiment.succeeded", "experiment.failed"],
        description="Events delivered to the URL",
    )


class WebhookOut(Schema):
    id: str
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    signing_secret: str = Field(
        description="HMAC-SHA256 key for the X-Headwater-Signature-256 header"
    )

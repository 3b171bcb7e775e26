"""Project settings and environment variables (seed 000 Environment); the owner's to change."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from headwater.db.repos.settings import SettingsRepo
from headwater.domain.access import Permission
from headwater.domain.project_settings import ProjectSettings
from headwater.schemas.settings import EnvSet
from headwater.server.deps import OwnerAccess, PlatformDep, ViewAccess
from headwater.server.outbound import address_policy, check_url

router = APIRouter(prefix="/projects/{project_id}", tags=["settings"])


@router.get("/settings", response_model=ProjectSettings)
def get_settings(access: ViewAccess, platform: PlatformDep) -> ProjectSettings:
    """Readers see the settings; the Slack webhook URL, which works like a secret, only the
    owner (and admins) see."""
    with platform.db.read() as session:
        current = SettingsRepo(session).get(access.project.id)
    if access.may(Permission.OWNER) or not current.slack.webhook_url:
        return current
    return current.model_copy(
        update={"slack": current.slack.model_copy(update={"webhook_url": "(hidden)"})}
    )


@router.patch("/settings", response_model=ProjectSettings)
def update_settings(
    access: OwnerAccess,
    platform: PlatformDep,
    changes: dict[str, Any] = Body(
        ..., description="Fields of ProjectSettings to change", examples=[{"idle_minutes": 30}]
    ),
) -> ProjectSettings:
    """Change some settings; a Slack URL must lead to an address webhooks may reach."""
    with platform.db.write() as session:
        updated = SettingsRepo(session).update(access.project, access.user, changes)
        if updated.slack.webhook_url and "slack" in changes:
            check_url(
                updated.slack.webhook_url,
                address_policy(platform.settings),
                where="slack.webhook_url",
            )  # raised inside the transaction: nothing is saved
        return updated


@router.get("/env", response_model=dict[str, str])
def list_env(access: ViewAccess, platform: PlatformDep) -> dict[str, str]:
    with platform.db.read() as session:
        return SettingsRepo(session).get(access.project.id).env


@router.patch("/env", response_model=dict[str, str])
def set_env(body: EnvSet, access: OwnerAccess, platform: PlatformDep) -> dict[str, str]:
    with platform.db.write() as session:
        return SettingsRepo(session).set_env(access.project, access.user, body.env).env


@router.delete("/env/{key}", status_code=204)
def unset_env(key: str, access: OwnerAccess, platform: PlatformDep) -> None:
    with platform.db.write() as session:
        SettingsRepo(session).unset_env(access.project, access.user, key)

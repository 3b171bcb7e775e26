"""Webhook URLs with signing secrets; Slack lives in settings.slack. Delivery is the engine's."""

from __future__ import annotations

from fastapi import APIRouter

from headwater.db.repos.webhooks import WebhookRepo
from headwater.domain.entities import Webhook
from headwater.schemas.settings import WebhookCreate, WebhookCreated, WebhookOut
from headwater.server.deps import OwnerAccess, PlatformDep
from headwater.server.outbound import address_policy, check_url

router = APIRouter(prefix="/projects/{project_id}/webhooks", tags=["webhooks"])


def _out(hook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=hook.id,
        url=hook.url,
        events=list(hook.events),
        enabled=hook.enabled,
        created_at=hook.created_at,
    )


@router.get("", response_model=list[WebhookOut])
def list_webhooks(access: OwnerAccess, platform: PlatformDep) -> list[WebhookOut]:
    with platform.db.read() as session:
        return [
            _out(h) for h in WebhookRepo(session, platform.box).list_webhooks(access.project.id)
        ]


@router.post("", response_model=WebhookCreated, status_code=201)
def create_webhook(
    body: WebhookCreate, access: OwnerAccess, platform: PlatformDep
) -> WebhookCreated:
    """A webhook to a public address (or where the admin allows: HEADWATER_WEBHOOK_ALLOW_*)."""
    check_url(body.url, address_policy(platform.settings), where="url")
    with platform.db.write() as session:
        hook, secret = WebhookRepo(session, platform.box).create(
            access.project, access.user, body.url, body.events
        )
    return WebhookCreated(**_out(hook).model_dump(), signing_secret=secret)


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: str, access: OwnerAccess, platform: PlatformDep) -> None:
    with platform.db.write() as session:
        WebhookRepo(session, platform.box).delete(access.project, access.user, webhook_id)

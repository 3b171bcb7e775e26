"""Webhook endpoints of a project; delivery is the engine's."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from headwater.db.cipher import SecretBox
from headwater.db.repos.activity import ActivityRepo
from headwater.db.tables import WebhookRow
from headwater.domain.entities import WEBHOOK_EVENTS, ActivityKind, Project, User, Webhook
from headwater.domain.errors import InvalidInput, NotFound
from headwater.domain.ids import new_id


def _to_webhook(row: WebhookRow) -> Webhook:
    return Webhook(row.id, row.url, tuple(row.events), row.enabled, row.created_at)


class WebhookRepo:
    def __init__(self, session: Session, box: SecretBox) -> None:
        self.s = session
        self.box = box
        self.activity = ActivityRepo(session)

    def list_webhooks(self, project_id: str) -> list[Webhook]:
        rows = self.s.scalars(
            select(WebhookRow)
            .where(WebhookRow.project_id == project_id)
            .order_by(WebhookRow.created_at)
        ).all()
        return [_to_webhook(r) for r in rows]

    def signing(self, project_id: str) -> list[tuple[Webhook, str]]:
        """Enabled webhooks with their signing secrets: for delivery only, never for display."""
        rows = self.s.scalars(
            select(WebhookRow).where(WebhookRow.project_id == project_id, WebhookRow.enabled)
        ).all()
        return [(_to_webhook(r), self.box.open(r.secret_ciphertext)) for r in rows]

    def create(
        self, project: Project, actor: User, url: str, events: list[str]
    ) -> tuple[Webhook, str]:
        """Returns the webhook and its signing secret, which is shown only this once."""
        unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
        if unknown:
            raise InvalidInput(
                f"unknown webhook event(s): {', '.join(unknown)}",
                where="events",
                hint="Use any of: " + ", ".join(WEBHOOK_EVENTS) + ".",
            )
        signing_secret = "whsec_" + secrets.token_urlsafe(24)
        row = WebhookRow(
            id=new_id(),
            project_id=project.id,
            url=url,
            events=sorted(set(events)),
            secret_ciphertext=self.box.seal(signing_secret),
            enabled=True,
            created_at=datetime.now(UTC),
        )
        self.s.add(row)
        self.activity.record(
            project.id, actor.username, ActivityKind.WEBHOOKS_CHANGED, f"added webhook {url}"
        )
        return _to_webhook(row), signing_secret

    def delete(self, project: Project, actor: User, webhook_id: str) -> None:
        row = self.s.get(WebhookRow, webhook_id)
        if row is None or row.project_id != project.id:
            raise NotFound(
                f"no webhook {webhook_id!r} in project {project.name!r}", where="webhook"
            )
        self.s.delete(row)
        self.activity.record(
            project.id, actor.username, ActivityKind.WEBHOOKS_CHANGED, f"removed webhook {row.url}"
        )

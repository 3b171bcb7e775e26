"""A project's webhooks: URLs told about job and flow events, each with a signing secret."""

from __future__ import annotations

from collections.abc import Sequence

from headwater.client.http import payload
from headwater.client.scope import ProjectScoped
from headwater.schemas.settings import WebhookCreate, WebhookCreated, WebhookOut

WebhookList = list[WebhookOut]


class WebhooksClient(ProjectScoped):
    resource = "webhooks"

    def list(self, *, project: str | None = None) -> WebhookList:
        return self._http.call("GET", self._path(project), WebhookList)

    def create(
        self, url: str, events: Sequence[str] | None = None, *, project: str | None = None
    ) -> WebhookCreated:
        """Add a URL; without ``events`` it hears experiment successes and failures. The
        answer's ``signing_secret`` is shown once."""
        fields: dict[str, object] = {"url": url}
        if events:
            fields["events"] = list(events)
        body = payload(WebhookCreate, **fields)
        return self._http.call("POST", self._path(project), WebhookCreated, json=body)

    def delete(self, webhook_id: str, *, project: str | None = None) -> None:
        self._http.request("DELETE", self._path(project, webhook_id))

"""Slack: a message to the project's incoming webhook."""

from __future__ import annotations

import json
from collections.abc import Callable

from headwater.notify.base import Delivery, Event, delivery
from headwater.notify.webhooks import post_json, redact


def sentence(event: Event) -> str:
    """One line people read: what ran, how it ended, why, and where to look."""
    text = f"[{event.project_name}] {event.title}: {event.state}"
    if event.reason:
        text += f" ({event.reason})"
    if event.url:
        text += f" - {event.url}"
    return text


class SlackNotifier:
    channel = "slack"

    def __init__(
        self, webhook_url: str, channel: str = "", *, sleep: Callable[[float], None] | None = None
    ) -> None:
        self.webhook_url = webhook_url
        self.slack_channel = channel
        self.sleep = sleep

    def send(self, event: Event) -> Delivery | None:
        message: dict[str, str] = {"text": sentence(event)}
        if self.slack_channel:
            message["channel"] = self.slack_channel
        body = json.dumps(message).encode()
        headers = {"Content-Type": "application/json"}
        result = post_json(self.webhook_url, body, headers, sleep=self.sleep)
        # the URL of an incoming webhook is its secret: log the host only
        return delivery(self.channel, redact(self.webhook_url).rsplit("/", 3)[0], event, result)

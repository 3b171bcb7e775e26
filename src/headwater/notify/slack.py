"""Slack: one message to the project's incoming webhook (``settings.slack``)."""

from __future__ import annotations

import json

from headwater.domain.addresses import STRICT, AddressPolicy
from headwater.notify.base import DEFAULT_BACKOFF, Backoff, Delivery, Event
from headwater.notify.posting import post, redact
from headwater.notify.text import headline


def escape(text: str) -> str:
    """Slack reads ``<``, ``>`` and ``&`` as markup; a command line may hold any of them."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message_text(event: Event) -> str:
    """What ran, how it ended, why, and a link: one message people read at a glance."""
    text = escape(headline(event))
    if event.reason:
        text += f": {escape(event.reason)}"
    if event.url:
        text += f" <{event.url}|details>"
    return text


class SlackNotifier:
    """Posts ``{"text", "channel"?}``; an empty ``channel`` leaves the webhook's own default.
    The URL is the project owner's to set, so ``policy`` guards it as a webhook's."""

    channel = "slack"

    def __init__(
        self,
        webhook_url: str,
        channel: str = "",
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
        timeout: float = 10.0,
        policy: AddressPolicy = STRICT,
    ) -> None:
        self.webhook_url = webhook_url
        self.slack_channel = channel
        self.backoff = backoff
        self.timeout = timeout
        self.policy = policy

    def __repr__(self) -> str:  # the webhook URL is a credential: keep it out of logs
        return f"SlackNotifier({self.target!r}, {self.slack_channel!r})"

    @property
    def target(self) -> str:
        # anyone holding an incoming webhook's path can post to the channel: show the host only
        where = redact(self.webhook_url, keep_path=False)
        return f"{where} {self.slack_channel}" if self.slack_channel else where

    def send(self, event: Event) -> Delivery:
        message = {"text": message_text(event)}
        if self.slack_channel:
            message["channel"] = self.slack_channel
        body = json.dumps(message).encode()
        outcome = post(
            self.webhook_url,
            body,
            {},
            backoff=self.backoff,
            timeout=self.timeout,
            policy=self.policy,
        )
        return Delivery.of(self.channel, self.target, event, outcome)

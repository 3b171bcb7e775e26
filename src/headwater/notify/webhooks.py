"""Project webhooks: a JSON document per event, signed with HMAC-SHA256 in GitHub's header shape
so receivers can use the verification code they already have."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Collection
from typing import Any

from headwater.domain.addresses import STRICT, AddressPolicy
from headwater.notify.base import DEFAULT_BACKOFF, Backoff, Delivery, Event
from headwater.notify.posting import post, redact

EVENT_HEADER = "X-Headwater-Event"
DELIVERY_HEADER = "X-Headwater-Delivery"
SIGNATURE_HEADER = "X-Headwater-Signature-256"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver checks: the header is the body signed with the shared secret (compared
    in constant time, so timing tells an attacker nothing)."""
    return header is not None and hmac.compare_digest(sign(secret, body).encode(), header.encode())


def payload(event: Event, delivery_id: str) -> dict[str, Any]:
    """The document a receiver gets. The subject sits under its kind's noun ("experiment" for
    ``experiment.*``); ``extra`` adds to it but never overrides the fields every event has."""
    subject = {
        "id": event.subject_id,
        "title": event.title,
        "state": event.state,
        "reason": event.reason,
        "url": event.url,
    }
    return {
        "event": event.kind,
        "delivery_id": delivery_id,
        "occurred_at": event.occurred_at.isoformat(),
        "project": {"id": event.project_id, "name": event.project_name},
        event.kind.split(".", 1)[0]: {**event.extra, **subject},
    }


class WebhookNotifier:
    """POSTs each subscribed event to ``url``. ``events=None`` subscribes to every event; a
    collection subscribes to exactly those (an empty one to none). The same delivery id is
    sent on every retry, so a receiver can drop repeats. ``policy`` says which addresses the
    URL may lead to, checked at each attempt (see notify.posting)."""

    channel = "webhook"

    def __init__(
        self,
        url: str,
        secret: str | None,
        events: Collection[str] | None = None,
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
        timeout: float = 10.0,
        policy: AddressPolicy = STRICT,
    ) -> None:
        self.url = url
        self.secret = secret
        self.events = None if events is None else frozenset(events)
        self.backoff = backoff
        self.timeout = timeout
        self.policy = policy

    def __repr__(self) -> str:  # never the secret, nor a token in the URL's query
        return f"WebhookNotifier({redact(self.url)!r}, events={self.events!r})"

    def wants(self, kind: str) -> bool:
        return self.events is None or kind in self.events

    def send(self, event: Event) -> Delivery | None:
        if not self.wants(event.kind):
            return None
        delivery_id = uuid.uuid4().hex
        body = json.dumps(payload(event, delivery_id), default=str).encode()
        headers = {EVENT_HEADER: event.kind, DELIVERY_HEADER: delivery_id}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        outcome = post(
            self.url,
            body,
            headers,
            backoff=self.backoff,
            timeout=self.timeout,
            policy=self.policy,
        )
        return Delivery.of(self.channel, redact(self.url), event, outcome)

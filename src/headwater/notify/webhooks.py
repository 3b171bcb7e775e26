"""Project webhooks: a JSON payload, signed with HMAC-SHA256 (GitHub's header shape)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Collection
from urllib.parse import urlsplit

import httpx

from headwater.notify.base import Delivery, Event, Transient, delivery, retrying

SIGNATURE_HEADER = "X-Headwater-Signature-256"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver checks: the header matches the body signed with the shared secret."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def redact(url: str) -> str:
    """Scheme, host and path only: query strings and credentials may hold secrets."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def post_json(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float = 10.0,
    sleep: Callable[[float], None] | None = None,
) -> tuple[bool, int, str]:
    def attempt() -> str:
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.TransportError as exc:
            raise Transient(f"unreachable: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise Transient(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise RuntimeError(f"HTTP {response.status_code}")
        return f"HTTP {response.status_code}"

    return retrying(attempt, sleep=sleep) if sleep else retrying(attempt)


class WebhookNotifier:
    channel = "webhook"

    def __init__(
        self,
        url: str,
        secret: str | None,
        events: Collection[str] | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.url = url
        self.secret = secret
        self.events = set(events) if events else None
        self.sleep = sleep

    def payload(self, event: Event, delivery_id: str) -> bytes:
        document = {
            "event": event.kind,
            "delivery_id": delivery_id,
            "occurred_at": event.occurred_at.isoformat(),
            "project": {"id": event.project_id, "name": event.project_name},
            "experiment": {
                "id": event.subject_id,
                "title": event.title,
                "state": event.state,
                "reason": event.reason,
                "url": event.url,
                **dict(event.extra),
            },
        }
        return json.dumps(document, default=str).encode()

    def send(self, event: Event) -> Delivery | None:
        if self.events is not None and event.kind not in self.events:
            return None
        delivery_id = uuid.uuid4().hex
        body = self.payload(event, delivery_id)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Headwater-Webhook",
            "X-Headwater-Event": event.kind,
            "X-Headwater-Delivery": delivery_id,
        }
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        result = post_json(self.url, body, headers, sleep=self.sleep)
        return delivery(self.channel, redact(self.url), event, result)

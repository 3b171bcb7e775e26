"""A notifier that records what it was told, for engine tests."""

from __future__ import annotations

from headwater.notify.base import Delivery, Event, delivery


class FakeNotifier:
    channel = "fake"

    def __init__(self) -> None:
        self.events: list[Event] = []

    def send(self, event: Event) -> Delivery | None:
        self.events.append(event)
        return delivery(self.channel, "memory", event, (True, 1, "recorded"))

"""A notifier that records what it was told, for engine tests; it can be told to fail, so that
tests can see what the engine does with failed deliveries."""

from __future__ import annotations

from collections.abc import Collection

from headwater.notify.base import Backoff, Delivery, Event, Permanent, Transient


def _no_wait(_: float) -> None:
    pass


NO_WAIT = Backoff(sleep=_no_wait)  # scripted failures need no real pause


class FakeNotifier:
    channel = "fake"

    def __init__(
        self, events: Collection[str] | None = None, *, backoff: Backoff = NO_WAIT
    ) -> None:
        self.kinds = None if events is None else frozenset(events)
        self.backoff = backoff
        self.events: list[Event] = []  # delivered, in order
        self.deliveries: list[Delivery] = []
        self._failures: list[bool] = []  # scripted failures to come: True is permanent

    def fail_next(self, times: int, *, permanent: bool = False) -> None:
        self._failures += [permanent] * times

    def send(self, event: Event) -> Delivery | None:
        if self.kinds is not None and event.kind not in self.kinds:
            return None

        def attempt() -> str:
            if self._failures:
                if self._failures.pop(0):
                    raise Permanent("refused")
                raise Transient("unavailable")
            self.events.append(event)
            return "recorded"

        delivery = Delivery.of(self.channel, "memory", event, self.backoff.run(attempt))
        self.deliveries.append(delivery)
        return delivery

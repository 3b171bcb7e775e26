"""What the engine needs from the outside, as protocols the server wires (ARCHITECTURE.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from headwater.domain.jobs import Experiment
from headwater.executors.base import Executor, Launch, Liveness, Runner
from headwater.notify.base import Delivery, Event, Notifier

__all__ = [
    "Delivery",
    "Event",
    "Executor",
    "Launch",
    "Liveness",
    "Notifier",
    "NotifierSource",
    "Runner",
]


class NotifierSource(Protocol):
    """Who should hear of ``event`` about ``experiment``: by project settings and task flags."""

    def __call__(self, experiment: Experiment, event: Event) -> Sequence[Notifier]: ...

"""What the engine needs from the outside, as protocols the server wires (ARCHITECTURE.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from headwater.domain.jobs import Experiment
from headwater.domain.trees import Tree
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
    "ObjectsSource",
    "PeopleSource",
    "Runner",
    "TaskSpecSource",
    "TreeSource",
]


class NotifierSource(Protocol):
    """Who should hear of an event of ``kind`` about ``experiment`` (e.g. "experiment.failed"):
    by project settings and task flags. Asked first, so an event nobody hears costs no more."""

    def __call__(self, experiment: Experiment, kind: str) -> Sequence[Notifier]: ...


class PeopleSource(Protocol):
    """Who hears of a flow's event of ``kind``: the project's webhooks, and an email to
    ``emails`` (approvers) when the server can send mail."""

    def people(self, project_id: str, kind: str, emails: Sequence[str]) -> Sequence[Notifier]: ...


class TaskSpecSource(Protocol):
    """The spec a task's runtime would fetch (``GET .../spec``) as JSON, for the runtime
    holding ``token``: it travels with the launch, one request fewer per task."""

    def __call__(self, experiment: Experiment, token: str) -> dict[str, Any]: ...


class TreeSource(Protocol):
    """The file list of a stored tree (a commit's ``tree`` digest): the engine checks a deploy
    task's file is there without reaching the object store itself."""

    def __call__(self, digest: str) -> Tree: ...


class ObjectsSource(Protocol):
    """Which of ``digests`` the object store lacks: a cached result whose outputs are gone
    is a miss, never a run whose inputs cannot be fetched."""

    def __call__(self, digests: Sequence[str]) -> list[str]: ...

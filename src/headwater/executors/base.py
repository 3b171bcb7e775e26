"""The ``Executor`` protocol: launch a task's runtime, poll whether it lives, cancel it.

Backends start the task runtime (``headwater.runtime``) somewhere; the runtime then reports
everything else through the API. So an executor only needs to answer "is it still there?".
This module imports no backend library.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from headwater.domain.compute import Resources


@dataclass(frozen=True)
class Launch:
    """What a backend needs to start the runtime for one task."""

    experiment_id: str
    project_id: str
    server_url: str
    token: str  # the task's own token, ended when the task ends
    resources: Resources
    # The task's spec (``GET .../spec``, secrets included) as JSON, when the server could
    # build it: a backend that hands it to the runtime privately (the local worker, over its
    # socket) saves the runtime that request. Never write it where others could read it;
    # without it the runtime fetches the spec with its token.
    spec: dict[str, Any] | None = None
    # An endpoint replica's version id (None: any other task): a backend with a serving
    # layer of its own (Ray Serve) runs the replica there, one application per version.
    serving: str | None = None


class Liveness(StrEnum):
    ALIVE = "alive"
    GONE = "gone"  # nothing of the task runs any more
    UNKNOWN = "unknown"  # the backend cannot tell now (e.g. its worker is unreachable)


Runner = dict[str, Any]  # what a backend records to find the task again (after a restart too)


class Executor(Protocol):
    name: str

    def capacity(self) -> Resources:
        """The resources this backend may hand out in total."""
        ...

    def launch(self, launch: Launch) -> Runner: ...

    def poll(self, experiment_id: str, runner: Runner) -> Liveness: ...

    def cancel(self, experiment_id: str, runner: Runner) -> None: ...

    def close(self) -> None:
        """Stop taking work; running tasks go on (they are adopted after a restart)."""
        ...

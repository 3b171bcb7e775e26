"""An executor that runs nothing: tests drive what its tasks do."""

from __future__ import annotations

from headwater.domain.compute import Resources
from headwater.executors.base import Launch, Liveness, Runner


class FakeExecutor:
    name = "fake"

    def __init__(self, capacity: Resources | None = None) -> None:
        self.total = capacity or Resources(cpus=2.0, memory_mb=4096, gpus=0)
        self.launched: list[Launch] = []
        self.cancelled: list[str] = []
        self.alive: set[str] = set()

    def capacity(self) -> Resources:
        return self.total

    def launch(self, launch: Launch) -> Runner:
        self.launched.append(launch)
        self.alive.add(launch.experiment_id)
        return {"executor": self.name}

    def poll(self, experiment_id: str, runner: Runner) -> Liveness:
        return Liveness.ALIVE if experiment_id in self.alive else Liveness.GONE

    def cancel(self, experiment_id: str, runner: Runner) -> None:
        self.cancelled.append(experiment_id)
        self.alive.discard(experiment_id)

    def close(self) -> None:
        pass

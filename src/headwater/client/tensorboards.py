"""TensorBoards (issue 15): TensorBoard over experiments' ``tensorboard/`` logs, started as a
job and opened through the server's proxy at ``/workspaces/<id>/``, like a workspace.

A TensorBoard is named by its name (unique among the project's running workspaces) or its id;
it is shown and stopped through the workspace routes (it has nothing to save). The one the
project setting ``tensorboard`` started for an experiment is ``of_experiment``.
"""

from __future__ import annotations

from collections.abc import Sequence

from headwater.client.http import payload, segment
from headwater.client.workspaces import WorkspaceRoutes
from headwater.schemas.workspaces import (
    TensorBoardStart,
    WorkspaceOut,
    WorkspaceSaved,
    WorkspaceStop,
)


class TensorBoardsClient(WorkspaceRoutes):
    resource = "tensorboards"
    noun = "TensorBoard"
    command = "tensorboard"

    def start(
        self,
        name: str = "tensorboard",
        *,
        experiments: Sequence[int] = (),
        flow_run: str | None = None,
        compute: str | None = None,
        idle_seconds: int | None = None,
        max_age_seconds: int | None = None,
        project: str | None = None,
    ) -> WorkspaceOut:
        """Start TensorBoard over the ``experiments`` (numbers) or every experiment of
        ``flow_run``; each run is named ``<number>/tensorboard``."""
        body = payload(
            TensorBoardStart,
            name=name,
            experiments=list(experiments),
            flow_run=flow_run,
            compute=compute,
            idle_seconds=idle_seconds,
            max_age_seconds=max_age_seconds,
        )
        return self._http.call("POST", self._path(project), WorkspaceOut, json=body)

    def of_experiment(self, ref: str | int, *, project: str | None = None) -> WorkspaceOut:
        """The TensorBoard the project setting ``tensorboard`` started with an experiment."""
        base = self._path(project).removesuffix(f"/{self.resource}")
        path = f"{base}/experiments/{segment(str(ref))}/tensorboard"
        return self._http.call("GET", path, WorkspaceOut)

    def stop(self, ref: str, *, project: str | None = None) -> WorkspaceOut:
        """Stop it, freeing its compute (the logs stay where they are)."""
        found = self._find(ref, project)
        body = payload(WorkspaceStop, discard=True)
        path = self._workspace(project, found.id, "stop")
        return self._http.call("POST", path, WorkspaceSaved, json=body).workspace

"""TensorBoards (issue 15): TensorBoard over experiments' ``tensorboard/`` logs, started as a
job and opened through the server's proxy at ``/workspaces/<id>/``, like a workspace.

A TensorBoard is named by its name (unique among the project's running workspaces) or its id;
it is shown and stopped through the workspace routes (it has nothing to save). The one the
project setting ``tensorboard`` started for an experiment is ``of_experiment``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from headwater.client.http import Params, payload, segment
from headwater.client.scope import ProjectScoped
from headwater.client.workspaces import START_TIMEOUT, not_started, pick
from headwater.domain.errors import HeadwaterError
from headwater.domain.workspaces import WorkspaceState
from headwater.schemas.workspaces import (
    TensorBoardStart,
    WorkspaceOut,
    WorkspaceSaved,
    WorkspaceStop,
)

BoardList = list[WorkspaceOut]


class TensorBoardsClient(ProjectScoped):
    resource = "tensorboards"

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

    def list(self, *, active: bool = False, project: str | None = None) -> BoardList:
        """The project's TensorBoards, newest first (``active``: starting or running only)."""
        params: Params = {"active": active}
        return self._http.call("GET", self._path(project), BoardList, params=params)

    def show(self, ref: str, *, project: str | None = None) -> WorkspaceOut:
        """One TensorBoard by name or id."""
        found = pick(self.list(project=project), ref)
        return self._http.call("GET", self._workspace(project, found.id), WorkspaceOut)

    def of_experiment(self, ref: str | int, *, project: str | None = None) -> WorkspaceOut:
        """The TensorBoard the project setting ``tensorboard`` started with an experiment."""
        base = self._path(project).removesuffix(f"/{self.resource}")
        path = f"{base}/experiments/{segment(str(ref))}/tensorboard"
        return self._http.call("GET", path, WorkspaceOut)

    def stop(self, ref: str, *, project: str | None = None) -> WorkspaceOut:
        """Stop it, freeing its compute (the logs stay where they are)."""
        found = pick(self.list(project=project), ref)
        body = payload(WorkspaceStop, discard=True)
        path = self._workspace(project, found.id, "stop")
        return self._http.call("POST", path, WorkspaceSaved, json=body).workspace

    def url(self, ref: str | WorkspaceOut, *, project: str | None = None) -> str:
        """The address TensorBoard opens at, through the server's proxy (log in to open it)."""
        found = ref if isinstance(ref, WorkspaceOut) else self.show(ref, project=project)
        return self._http.url + found.url

    def wait(
        self,
        ref: str,
        *,
        timeout: float = START_TIMEOUT,
        poll: float = 0.25,
        project: str | None = None,
    ) -> WorkspaceOut:
        """Look until it is running; an error when it ended first or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.show(ref, project=project)
            if shown.state is WorkspaceState.RUNNING:
                return shown
            if shown.state.ended or shown.state is WorkspaceState.STOPPING:
                raise not_started(shown)
            if time.monotonic() >= deadline:
                raise HeadwaterError(
                    f"TensorBoard {shown.name} is still {shown.state.value} after {timeout:g} s",
                    where=f"tensorboard {shown.name}",
                    hint=f"It keeps starting: `hw tensorboard list` shows when it runs; its "
                    f"output is `hw experiments logs {shown.experiment_number}`.",
                )
            time.sleep(poll)

    def _workspace(self, project: str | None, *parts: str) -> str:
        base = self._path(project).removesuffix(f"/{self.resource}")
        return base + "/workspaces" + "".join("/" + segment(p) for p in parts)

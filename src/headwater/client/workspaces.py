"""Workspaces (issue 15): JupyterLab for a project, started as a job and opened through the
server's proxy at ``/workspaces/<id>/lab``.

A workspace is named by its name (unique among the project's running ones) or its id, like
the server's routes take the id: a name means the project's active workspace of that name,
else its newest one (a stopped one can still be shown). A save that conflicts with what others
synced meanwhile is refused by the server with the paths; it comes back here reworded for a
workspace (the server's words are those of `hw sync`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import ClassVar

from headwater.client.http import Params, payload, segment
from headwater.client.scope import ProjectScoped
from headwater.domain.errors import Conflict, HeadwaterError, NotFound
from headwater.domain.workspaces import WorkspaceState
from headwater.schemas.workspaces import (
    WorkspaceOut,
    WorkspaceSave,
    WorkspaceSaved,
    WorkspaceStart,
    WorkspaceStop,
)

WorkspaceList = list[WorkspaceOut]
START_TIMEOUT = 300.0  # a queue, a sandbox, the environment, then JupyterLab
MERGE_WHERE = "sync"  # where= of the server's MergeConflict: both sides changed paths


class WorkspaceRoutes(ProjectScoped):
    """What workspaces and TensorBoards share: both are workspaces (a TensorBoard is one of kind
    tensorboard), named by name or id (``pick``), shown through the workspace routes, opened
    through the server's proxy and waited for the same way; only the words differ."""

    noun: ClassVar[str]  # what messages call one: "workspace", "TensorBoard"
    command: ClassVar[str]  # its `hw` command group, also the errors' where=

    def list(self, *, active: bool = False, project: str | None = None) -> WorkspaceList:
        """The project's workspaces (or TensorBoards), newest first (``active``: starting or
        running only)."""
        params: Params = {"active": active}
        return self._http.call("GET", self._path(project), WorkspaceList, params=params)

    def show(self, ref: str, *, project: str | None = None) -> WorkspaceOut:
        """One by name or id: its state, URL and when it will be culled."""
        found = self._find(ref, project)
        return self._http.call("GET", self._workspace(project, found.id), WorkspaceOut)

    def url(self, ref: str | WorkspaceOut, *, project: str | None = None) -> str:
        """The address it (JupyterLab, TensorBoard) opens at, through the server's proxy (log in
        to open it)."""
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
        """Look until it is running; an error when it ended first, or when ``timeout`` seconds
        passed (it keeps starting: look again with ``show``)."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.show(ref, project=project)
            if shown.state is WorkspaceState.RUNNING:
                return shown
            if shown.state.ended or shown.state is WorkspaceState.STOPPING:
                raise not_started(shown)
            if time.monotonic() >= deadline:
                raise HeadwaterError(
                    f"{self.noun} {shown.name} is still {shown.state.value} after {timeout:g} s",
                    where=f"{self.command} {shown.name}",
                    hint=f"It keeps starting: `hw {self.command} list` shows when it runs; its "
                    f"output is `hw experiments logs {shown.experiment_number}`.",
                )
            time.sleep(poll)

    def _find(self, ref: str, project: str | None) -> WorkspaceOut:
        return pick(self.list(project=project), ref)

    def _workspace(self, project: str | None, *parts: str) -> str:
        """A path under the project's workspace routes (TensorBoards' own routes only start
        and list them)."""
        base = self._path(project).removesuffix(f"/{self.resource}")
        return base + "/workspaces" + "".join("/" + segment(p) for p in parts)


class WorkspacesClient(WorkspaceRoutes):
    resource = "workspaces"
    noun = "workspace"
    command = "workspace"

    def start(
        self,
        name: str = "lab",
        *,
        compute: str | None = None,
        datasets: Sequence[str] = (),
        version: str | None = None,
        git_branch: str | None = None,
        git_commit: str | None = None,
        idle_seconds: int | None = None,
        max_age_seconds: int | None = None,
        project: str | None = None,
    ) -> WorkspaceOut:
        """Start JupyterLab on the project's files at ``version`` (default: the newest), its
        ``datasets`` under ``data/``; it answers once ``state`` is running (``wait``)."""
        body = payload(
            WorkspaceStart,
            name=name,
            compute=compute,
            datasets=list(datasets),
            commit=version,
            git_branch=git_branch,
            git_commit=git_commit,
            idle_seconds=idle_seconds,
            max_age_seconds=max_age_seconds,
        )
        return self._http.call("POST", self._path(project), WorkspaceOut, json=body)

    def save(self, ref: str, message: str = "", *, project: str | None = None) -> WorkspaceSaved:
        """Commit the workspace's changes as a new version of the project's files (three-way
        merge); a conflict commits nothing and leaves it running."""
        found = self._find(ref, project)
        body = payload(WorkspaceSave, message=message)
        try:
            return self._http.call(
                "POST", self._path(project, found.id, "save"), WorkspaceSaved, json=body
            )
        except Conflict as exc:
            raise save_conflict(exc, found.name) from exc

    def stop(
        self,
        ref: str,
        *,
        discard: bool = False,
        message: str = "",
        project: str | None = None,
    ) -> WorkspaceSaved:
        """Save (unless ``discard``), then stop it; a conflicting save stops nothing."""
        found = self._find(ref, project)
        body = payload(WorkspaceStop, discard=discard, message=message)
        try:
            return self._http.call(
                "POST", self._path(project, found.id, "stop"), WorkspaceSaved, json=body
            )
        except Conflict as exc:
            raise save_conflict(exc, found.name) from exc


def pick(workspaces: Iterable[WorkspaceOut], ref: str) -> WorkspaceOut:
    """The workspace ``ref`` names among ``workspaces`` (newest first): the id, else the
    active one of that name, else the newest of that name. NotFound names the active ones."""
    listed = list(workspaces)
    named = [w for w in listed if w.id == ref] or [w for w in listed if w.name == ref]
    active = [w for w in named if w.state.active]
    if active or named:
        return (active or named)[0]
    running = sorted({w.name for w in listed if w.state.active})
    raise NotFound(
        f"no workspace named {ref!r} in this project",
        where="workspace",
        hint=f"Active workspaces: {', '.join(running)}."
        if running
        else "Start one with `hw workspace start NAME`.",
    )


def save_conflict(error: Conflict, name: str) -> Conflict:
    """A refused save in a workspace's words: which files, and what to do. Other conflicts
    (not running yet, a file over the size limit) stand as the server said them."""
    if error.where != MERGE_WHERE:
        return error
    made = Conflict(
        f"not saved: {error.detail}; nothing was committed and the workspace keeps running",
        where=f"workspace {name}",
        hint="In JupyterLab, keep your edits of those files under other names and undo them "
        "in the files themselves (back to how the workspace started or last saved them), then "
        f"`hw workspace save {name}` again: the others' changes come in. Or `hw workspace "
        f"stop {name} --discard` drops the workspace's changes.",
    )
    made.__dict__["http_status"] = error.__dict__.get("http_status")
    return made


def not_started(shown: WorkspaceOut) -> HeadwaterError:
    """Why a workspace being waited for will not run."""
    return HeadwaterError(
        f"workspace {shown.name} {shown.state.value} before it ran"
        + (f": {shown.reason}" if shown.reason else ""),
        where=f"workspace {shown.name}",
        hint=f"Its output says why: `hw experiments logs {shown.experiment_number}`.",
    )

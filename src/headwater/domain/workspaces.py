"""Workspaces (issue 15): JupyterLab for a project, run as a long-running sandboxed job (an
experiment titled ``workspace:<name>``) and reached only through the server's proxy at
``/workspaces/<id>/``.

This module owns the pure rules: the state table, the name rule, and when a workspace is
culled. Idle means no traffic through the proxy AND no busy kernel: a long computation with
nobody watching is work, not idleness (jupyterhub-idle-culler#55). A maximum age caps both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from headwater.domain.errors import Conflict, InvalidInput

TITLE_PREFIX = "workspace:"
NAME_MAX = 63
DEFAULT_IDLE_SECONDS = 3600  # an hour without traffic or a busy kernel
DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class WorkspaceKind(StrEnum):
    """What a workspace serves: JupyterLab on the project's files (saved back), or TensorBoard
    over experiments' logs (read-only: nothing to save, no kernels)."""

    JUPYTER = "jupyter"
    TENSORBOARD = "tensorboard"


class WorkspaceState(StrEnum):
    STARTING = "starting"  # queued or booting: JupyterLab does not answer yet
    RUNNING = "running"  # answering through the proxy
    STOPPING = "stopping"  # being saved and stopped
    STOPPED = "stopped"  # ended by a stop or the culler (saved unless discarded)
    FAILED = "failed"  # ended by itself (crashed, killed): nothing committed

    @property
    def active(self) -> bool:
        return self in (WorkspaceState.STARTING, WorkspaceState.RUNNING)

    @property
    def ended(self) -> bool:
        return self in (WorkspaceState.STOPPED, WorkspaceState.FAILED)


_MOVES: dict[WorkspaceState, frozenset[WorkspaceState]] = {
    WorkspaceState.STARTING: frozenset(
        {WorkspaceState.RUNNING, WorkspaceState.STOPPING, WorkspaceState.FAILED}
    ),
    WorkspaceState.RUNNING: frozenset({WorkspaceState.STOPPING, WorkspaceState.FAILED}),
    # back to running: a stop whose save was refused (a conflict) stops nothing
    WorkspaceState.STOPPING: frozenset(
        {WorkspaceState.STOPPED, WorkspaceState.FAILED, WorkspaceState.RUNNING}
    ),
    WorkspaceState.STOPPED: frozenset(),
    WorkspaceState.FAILED: frozenset(),
}


def can_move(old: WorkspaceState, new: WorkspaceState) -> bool:
    """Whether ``old`` may become ``new``: an ended workspace never comes back."""
    return new in _MOVES[old]


def check_name(name: str, *, where: str = "name") -> str:
    """A workspace's name: a short word, unique among the project's active workspaces."""
    if len(name) > NAME_MAX or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"workspace name {name!r} is not allowed",
            where=where,
            hint=f"Use letters, digits, '-' and '_', starting with a letter or digit, at most "
            f"{NAME_MAX} characters.",
        )
    return name


def check_unused(name: str, active: Iterable[str]) -> None:
    if name in set(active):
        raise Conflict(
            f"workspace {name!r} is running already",
            where="name",
            hint="Open it, stop it first, or give another name.",
        )


@dataclass(frozen=True)
class CullPolicy:
    """When a workspace is culled: ``idle_seconds`` without traffic or a busy kernel, or
    ``max_age_seconds`` after it started, whatever it does."""

    idle_seconds: int = DEFAULT_IDLE_SECONDS
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS

    def __post_init__(self) -> None:
        if self.idle_seconds < 1 or self.max_age_seconds < 1:
            raise InvalidInput(
                "idle and maximum age must be at least one second",
                where="idle_seconds",
                hint="Give a positive number of seconds.",
            )


def cull_reason(
    policy: CullPolicy,
    *,
    now: datetime,
    started: datetime,
    last_activity: datetime,
    kernel_busy: bool,
    kernel_activity: datetime | None = None,
) -> str | None:
    """Why the workspace should be culled now, or None. A busy kernel keeps it (and its
    last activity counts as activity: a cell that just ended restarts the idle clock)."""
    if now - started >= timedelta(seconds=policy.max_age_seconds):
        return f"reached its maximum age ({policy.max_age_seconds} s)"
    if kernel_busy:
        return None
    last = max(last_activity, kernel_activity) if kernel_activity else last_activity
    if now - last >= timedelta(seconds=policy.idle_seconds):
        return f"idle for {policy.idle_seconds} s (no traffic, no busy kernel)"
    return None


def autosync_due(*, now: datetime, since: datetime, minutes: int | None) -> bool:
    """Whether a running workspace's folder is due for its periodic save: the project's
    autosync is on (``minutes``) and that long passed since it started or last saved."""
    return minutes is not None and now - since >= timedelta(minutes=minutes)


@dataclass(frozen=True)
class Workspace:
    """A workspace as the API shows it (its token stays sealed in the database)."""

    id: str
    project_id: str
    experiment_id: str
    name: str
    state: WorkspaceState
    address: str | None
    created_by: str
    created_at: datetime
    ready_at: datetime | None
    last_activity: datetime
    policy: CullPolicy
    base_commit: str | None
    saved_commit: str | None
    saved_at: datetime | None
    ended_at: datetime | None
    reason: str | None
    kind: WorkspaceKind = WorkspaceKind.JUPYTER
    follows: str | None = None  # an automatic TensorBoard: the experiment it serves

    @property
    def saves(self) -> bool:
        """Whether its folder is committed on save, stop and autosync (a TensorBoard's not)."""
        return self.kind is WorkspaceKind.JUPYTER

    def culls_at(self) -> datetime:
        """When the culler stops it if nothing happens meanwhile (the UI shows it)."""
        idle = self.last_activity + timedelta(seconds=self.policy.idle_seconds)
        started = self.ready_at or self.created_at
        return min(idle, started + timedelta(seconds=self.policy.max_age_seconds))


def automatic_name(number: int) -> str:
    """The name of the TensorBoard the project setting starts for experiment ``number``."""
    return f"tensorboard-{number}"


def tensorboards_due(
    running: Iterable[tuple[str, str]], *, enabled: set[str], followed: set[str]
) -> list[str]:
    """The running experiments (``(id, project id)``) that get an automatic TensorBoard now:
    their project has the setting ``tensorboard`` on and none followed them yet (one per
    experiment: a TensorBoard stopped by hand is not started again)."""
    return [e for e, project in running if project in enabled and e not in followed]

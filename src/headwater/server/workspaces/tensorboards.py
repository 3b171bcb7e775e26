"""TensorBoards (issue 15): a workspace of kind ``tensorboard``, so the same table, states,
proxy, login, access checks, culler and stop serve it. Its task runs
``headwater.runtime.tensorboard`` on the chosen experiments' logs (``options.tensorboard``,
read by ``server/taskspec.tensorboard_logs``), with no project files, requirements or outputs.

With the project setting ``tensorboard`` on, the culler's pass starts one for each running
experiment (``follows`` it) and stops it once the experiment ended: ``sync_automatic``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.settings import SettingsRepo
from headwater.db.repos.workspaces import WorkspaceRepo
from headwater.domain.jobs import JobState
from headwater.domain.workspaces import (
    CullPolicy,
    Workspace,
    WorkspaceKind,
    WorkspaceState,
    automatic_name,
    check_unused,
    tensorboards_due,
)
from headwater.server.platform import Platform
from headwater.server.workspaces.proxy import PREFIX

log = logging.getLogger("headwater.workspaces")
TITLE_PREFIX = "tensorboard:"


def launch_command(workspace_id: str) -> str:
    return f"python -m headwater.runtime.tensorboard --path-prefix {PREFIX}{workspace_id}"


@dataclass(frozen=True)
class BoardRequest:
    project_id: str
    user_id: str
    name: str
    experiment_ids: list[str]
    token_sealed: str
    workspace_id: str
    policy: CullPolicy
    compute: str | None = None
    follows: str | None = None


def create(platform: Platform, request: BoardRequest) -> tuple[Workspace, int]:
    """The TensorBoard's experiment (queued) and its workspace row; returns both's handles."""
    with platform.db.write() as session:
        repo = WorkspaceRepo(session)
        active = repo.of_project(request.project_id, active_only=True)
        check_unused(request.name, (w.name for w in active))
        settings = SettingsRepo(session).get(request.project_id)
        options: dict[str, object] = {
            "workspace": request.workspace_id,
            "replica": True,  # reports its socket once answering, commits no outputs
            "periodic_sync": False,
            "requirements": False,
            "prerun": False,
            "tensorboard": {"experiments": request.experiment_ids},
        }
        [experiment] = ExperimentRepo(session).create_many(
            request.project_id,
            request.user_id,
            command=launch_command(request.workspace_id),
            runs=[{}],
            title=f"{TITLE_PREFIX}{request.name}",
            computes=[request.compute] if request.compute else list(settings.compute),
            start_commit=None,  # no project files: only the logs
            output_dir=settings.output_dir,
            options=options,
            resources={},
        )
        workspace = repo.create(
            request.project_id,
            workspace_id=request.workspace_id,
            experiment_id=experiment.id,
            name=request.name,
            token_sealed=request.token_sealed,
            created_by=request.user_id,
            policy=request.policy,
            base_commit=None,
            kind=WorkspaceKind.TENSORBOARD,
            follows=request.follows,
        )
    platform.engine.wake()
    return workspace, experiment.number


def due(platform: Platform) -> tuple[list[tuple[str, str, str, int]], list[Workspace]]:
    """What the automatic pass should do: (project, experiment id, its creator, number) to
    start a TensorBoard for, and the automatic TensorBoards whose experiment ended."""
    with platform.db.read() as session:
        experiments = ExperimentRepo(session)
        running = [
            e
            for e in experiments.in_states([JobState.RUNNING])
            if not e.options.get("replica")  # not a workspace, TensorBoard or endpoint replica
        ]
        settings = SettingsRepo(session)
        projects = {e.project_id for e in running}
        enabled = {p for p in projects if settings.get(p).tensorboard}
        workspaces = WorkspaceRepo(session)
        followed = workspaces.followed()
        start = tensorboards_due(
            [(e.id, e.project_id) for e in running], enabled=enabled, followed=followed
        )
        chosen = {e.id: e for e in running if e.id in set(start)}
        to_start = [(e.project_id, e.id, e.created_by, e.number) for e in chosen.values()]
        to_stop = [
            w
            for w in workspaces.not_ended()
            if w.follows is not None
            and w.state is not WorkspaceState.STOPPING
            and experiments.get(w.follows).state.terminal
        ]
    return to_start, to_stop


def automatic_request(
    target: tuple[str, str, str, int], *, token_sealed: str, workspace_id: str, max_age: int
) -> BoardRequest:
    """An automatic TensorBoard: it follows its experiment, so the idle clock never ends it
    first (idle as long as the maximum age): the experiment's end does."""
    project_id, experiment_id, user_id, number = target
    return BoardRequest(
        project_id=project_id,
        user_id=user_id,
        name=automatic_name(number),
        experiment_ids=[experiment_id],
        token_sealed=token_sealed,
        workspace_id=workspace_id,
        policy=CullPolicy(idle_seconds=max_age, max_age_seconds=max_age),
        follows=experiment_id,
    )

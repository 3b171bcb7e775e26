"""Workspaces (issue 15): JupyterLab for a project, opened through ``/workspaces/<id>/`` (the
proxy in ``server/workspaces/``). Starting, saving and stopping one need ``files: all`` and
``jobs: all`` (it edits the files and runs as a job); listing and showing need jobs read."""

from __future__ import annotations

import importlib.util
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.settings import SettingsRepo
from headwater.db.repos.versions import VersionRepo
from headwater.db.repos.workspaces import WorkspaceRepo
from headwater.domain.access import Permission
from headwater.domain.errors import Conflict, PermissionDenied
from headwater.domain.gitsource import GitRefused, git_source
from headwater.domain.workspaces import Workspace, WorkspaceKind, check_name, check_unused
from headwater.schemas.workspaces import (
    WorkspaceOut,
    WorkspaceSave,
    WorkspaceSaved,
    WorkspaceStart,
    WorkspaceStop,
)
from headwater.server.deps import PlatformDep, ProjectAccess, require
from headwater.server.routes.experiments import dataset_mounts
from headwater.server.workspaces.proxy import PREFIX
from headwater.server.workspaces.service import Saved, Workspaces, launch_command

router = APIRouter(prefix="/projects/{project_id}/workspaces", tags=["workspaces"])
Reader = Annotated[ProjectAccess, Depends(require(Permission.JOBS_READ))]


async def _files_too(
    access: ProjectAccess = Depends(require(Permission.JOBS_WRITE)),
) -> ProjectAccess:
    """Jobs all (declared for the access matrix) and files all: a workspace edits files."""
    if not access.may(Permission.FILES_WRITE):
        raise PermissionDenied(
            "a workspace needs 'all' access to files as well as to jobs",
            where=f"project {access.project.name} ({access.project.id})",
            hint="Ask the project's owner for that access.",
        )
    return access


Opener = Annotated[ProjectAccess, Depends(_files_too)]


def _service(request: Request) -> Workspaces:
    service: Workspaces = request.app.state.workspaces
    return service


Service = Annotated[Workspaces, Depends(_service)]


def workspace_out(workspace: Workspace, number: int) -> WorkspaceOut:
    return WorkspaceOut(
        id=workspace.id,
        project_id=workspace.project_id,
        name=workspace.name,
        kind=workspace.kind,
        follows=workspace.follows,
        state=workspace.state,
        experiment_id=workspace.experiment_id,
        experiment_number=number,
        url=f"{PREFIX}{workspace.id}/" + ("lab" if workspace.kind is WorkspaceKind.JUPYTER else ""),
        created_by=workspace.created_by,
        created_at=workspace.created_at,
        ready_at=workspace.ready_at,
        last_activity=workspace.last_activity,
        culls_at=None if workspace.state.ended else workspace.culls_at(),
        idle_seconds=workspace.policy.idle_seconds,
        max_age_seconds=workspace.policy.max_age_seconds,
        base_commit=workspace.base_commit,
        saved_commit=workspace.saved_commit,
        saved_at=workspace.saved_at,
        ended_at=workspace.ended_at,
        reason=workspace.reason,
    )


def _out(platform: PlatformDep, workspace: Workspace) -> WorkspaceOut:
    with platform.db.read() as session:
        number = ExperimentRepo(session).get(workspace.experiment_id).number
    return workspace_out(workspace, number)


@router.post("", response_model=WorkspaceOut, status_code=201)
def start_workspace(
    body: WorkspaceStart, access: Opener, platform: PlatformDep, service: Service
) -> WorkspaceOut:
    """Start JupyterLab on the project's files (and datasets under data/), as a job."""
    project = access.project
    name = check_name(body.name)
    if importlib.util.find_spec("jupyterlab") is None:  # tasks run on this interpreter
        raise Conflict(
            "JupyterLab is not installed on this server",
            where="workspace",
            hint="Install the workspaces extra: pip install 'headwater[workspaces]'.",
        )
    policy = service.policy_for(project.id, body.idle_seconds, body.max_age_seconds)
    token = service.new_token()
    workspace_id = service.new_id()
    with platform.db.write() as session:
        repo = WorkspaceRepo(session)
        check_unused(name, (w.name for w in repo.of_project(project.id, active_only=True)))
        settings = SettingsRepo(session).get(project.id)
        git = git_source(
            settings.git, body.git_branch, body.git_commit, where="", who="the request"
        )
        if git is not None and body.commit:
            raise GitRefused(
                "commit names a version of the project's synced files, but this project runs "
                "its jobs from its linked Git repository",
                where="commit",
                hint="Give git_commit (a commit of the repository) instead, or unlink it.",
            )
        versions = VersionRepo(session)
        files = versions.files_repo(project.id)
        commit = versions.resolve(files.id, body.commit).id if body.commit else None
        if commit is None and git is None:
            head = versions.head(files.id)
            commit = head.id if head else None
        latest, pinned = dataset_mounts(session, project.id, body.datasets)
        options: dict[str, object] = {
            "datasets": latest,
            "dataset_mounts": pinned,
            "workspace": workspace_id,
            "replica": True,  # reports its socket once answering, commits no outputs
            "periodic_sync": False,
        }
        if git is not None:
            options["git"] = git.to_dict()
        [experiment] = ExperimentRepo(session).create_many(
            project.id,
            access.user.id,
            command=launch_command(workspace_id),
            runs=[{}],
            title=service.title(name),
            computes=[body.compute] if body.compute else list(settings.compute),
            start_commit=commit,
            output_dir=settings.output_dir,
            options=options,
            resources={},
        )
        workspace = repo.create(
            project.id,
            workspace_id=workspace_id,
            experiment_id=experiment.id,
            name=name,
            token_sealed=platform.box.seal(token),
            created_by=access.user.id,
            policy=policy,
            base_commit=commit,
        )
    platform.engine.wake()
    return workspace_out(workspace, experiment.number)


@router.get("", response_model=list[WorkspaceOut])
def list_workspaces(
    access: Reader,
    platform: PlatformDep,
    active: bool = False,
    kind: WorkspaceKind = WorkspaceKind.JUPYTER,
) -> list[WorkspaceOut]:
    """The project's workspaces of ``kind``, newest first (``active``: starting or running)."""
    with platform.db.read() as session:
        found = WorkspaceRepo(session).of_project(access.project.id, active_only=active, kind=kind)
        experiments = ExperimentRepo(session)
        numbers = {w.id: experiments.get(w.experiment_id).number for w in found}
    return [workspace_out(w, numbers[w.id]) for w in found]


@router.get("/{workspace_id}", response_model=WorkspaceOut)
def show_workspace(workspace_id: str, access: Reader, platform: PlatformDep) -> WorkspaceOut:
    """One workspace: its state, its address through the proxy, when it will be culled."""
    with platform.db.read() as session:
        workspace = WorkspaceRepo(session).get(access.project.id, workspace_id)
    return _out(platform, workspace)


def _saved(platform: PlatformDep, saved: Saved) -> WorkspaceSaved:
    outcome = saved.outcome
    return WorkspaceSaved(
        commit=outcome.commit.id if outcome else None,
        merged=bool(outcome and outcome.merged),
        unchanged=outcome.unchanged if outcome else True,
        workspace=_out(platform, saved.workspace),
    )


@router.post("/{workspace_id}/save", response_model=WorkspaceSaved)
def save_workspace(
    workspace_id: str, body: WorkspaceSave, access: Opener, platform: PlatformDep, service: Service
) -> WorkspaceSaved:
    """Commit the workspace's changes as a new version of the files (three-way merge)."""
    with platform.db.read() as session:
        WorkspaceRepo(session).get(access.project.id, workspace_id)  # in this project
    saved = service.save(workspace_id, access.user.username, body.message)
    return _saved(platform, saved)


@router.post("/{workspace_id}/stop", response_model=WorkspaceSaved)
def stop_workspace(
    workspace_id: str, body: WorkspaceStop, access: Opener, platform: PlatformDep, service: Service
) -> WorkspaceSaved:
    """Save (unless ``discard``) and stop; a conflicting save stops nothing."""
    with platform.db.read() as session:
        WorkspaceRepo(session).get(access.project.id, workspace_id)
    saved = service.stop(
        workspace_id,
        access.user.username,
        discard=body.discard,
        message=body.message,
        reason=f"stopped by {access.user.username}",
    )
    return _saved(platform, saved)

"""A task's spec: everything its runtime needs (command, env with secrets, files, datasets,
parents' outputs, the Git checkout). Built for ``GET .../spec`` (the task's own token only) and
by the engine at launch, so a backend that hands it to the runtime directly (the local worker,
over its socket) saves the runtime that request."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from headwater.db.cipher import SecretBox
from headwater.db.database import Database
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.projects import ProjectRepo
from headwater.db.repos.secrets import SecretRepo
from headwater.db.repos.settings import SettingsRepo
from headwater.db.repos.users import UserRepo
from headwater.db.repos.versions import VersionRepo
from headwater.db.repos.workspaces import WorkspaceRepo
from headwater.domain.entities import Project, ThirdPartyKey
from headwater.domain.errors import NotFound
from headwater.domain.flowspec.names import cnvrg_aliases
from headwater.domain.gitsource import GitSource
from headwater.domain.grid import command_with_params, tag_env
from headwater.domain.jobs import Experiment
from headwater.domain.versions import RepoKind
from headwater.schemas.experiments import (
    DatasetMount,
    GitCheckout,
    InputMount,
    ModelMount,
    TaskSpec,
)
from headwater.server.views import experiment_out


def task_spec(
    db: Database,
    box: SecretBox,
    public_url: str,
    experiment: Experiment,
    token: str,
    project: Project | None = None,
) -> TaskSpec:
    """The spec of ``experiment`` for the runtime holding ``token`` (its own task token)."""
    project_id = experiment.project_id
    with db.read() as session:
        # the engine's launch has no project at hand: only its name is needed
        name = ProjectRepo(session).name(project_id) if project is None else project.name
        settings = SettingsRepo(session).get(project_id)
        secrets = SecretRepo(session, box).values(
            project_id, by_owner=lambda: started_by_owner(session, experiment, project)
        )
        private = (experiment.options.get("git") or {}).get("private")
        keys = SecretRepo(session, box).keys(project_id) if private else []
        versions = VersionRepo(session)
        datasets = []
        for dataset in experiment.options.get("datasets", []):
            repo = versions.get(project_id, RepoKind.DATASET, dataset)
            head = versions.head(repo.id)
            if head is not None:
                datasets.append(DatasetMount(name=dataset, commit=head.id))
        flow = experiment.options.get("flow") or {}
        inputs = flow_inputs(ExperimentRepo(session), flow)
        board, live = tensorboard_logs(ExperimentRepo(session), experiment.options)
        inputs += board
        log_seq = ExperimentRepo(session).next_log_seq(experiment.id)
        workspace = experiment.options.get("workspace")
        sealed = WorkspaceRepo(session).sealed_token(workspace) if workspace else None
    datasets += [DatasetMount(**d) for d in experiment.options.get("dataset_mounts", [])]
    datasets += [DatasetMount(**d) for d in flow.get("datasets", [])]
    env: dict[str, Any] = {**settings.env, **secrets}
    tags = {**flow.get("env", {}), **tag_env(experiment.params)}
    env.update(tags)
    if settings.cnvrg_env:  # seed 002's names, for unmodified cnvrg scripts
        env.update(cnvrg_aliases(tags))
    env.update(
        HEADWATER_URL=public_url,
        HEADWATER_TOKEN=token,
        HEADWATER_PROJECT=project_id,
        HW_EXPERIMENT_ID=experiment.id,
        HW_EXPERIMENT_NUMBER=str(experiment.number),
    )
    if sealed is not None:  # the token its JupyterLab checks: only the server's proxy sends it
        env["JUPYTER_TOKEN"] = box.open(sealed)
        secrets = {**secrets, "JUPYTER_TOKEN": ""}
    periodic = experiment.options.get("periodic_sync")
    sync_on = settings.autosync if periodic is None else bool(periodic)
    return TaskSpec(
        experiment=experiment_out(experiment),
        project_name=name,
        command=command_with_params(experiment.command, experiment.params),
        env=env,
        files_commit=experiment.start_commit,
        datasets=datasets,
        inputs=inputs,
        live_logs=live,
        passed_condition=list(flow.get("passed", [])),
        cnvrg_env=settings.cnvrg_env,
        requirements=bool(experiment.options.get("requirements", True)),
        prerun=bool(experiment.options.get("prerun", True)),
        output_dir=experiment.output_dir,
        sync_seconds=settings.sync_minutes * 60.0 if sync_on else None,
        working_dir=settings.working_dir,
        git=git_checkout(experiment, keys),
        secret_keys=sorted(secrets),
        replica=bool(experiment.options.get("replica")),
        model=ModelMount(**model) if (model := experiment.options.get("model_mount")) else None,
        log_seq=log_seq,
    )


def started_by_owner(session: Session, experiment: Experiment, project: Project | None) -> bool:
    """Whether the project's owner or an admin started the task (created the experiment, or
    started the flow run it belongs to): only those tasks receive owner-only secrets, since a
    task can print whatever it receives."""
    if project is None:
        project = ProjectRepo(session).get(experiment.project_id)
    owner_id = project.owner_id
    if experiment.created_by == owner_id:
        return True
    try:
        return UserRepo(session).get(experiment.created_by).is_admin
    except NotFound:  # the user has gone: not an owner
        return False


def git_checkout(experiment: Experiment, keys: list[ThirdPartyKey]) -> GitCheckout | None:
    """The clone the task makes, as decided when the experiment was created; a private
    repository's key travels only here (like secrets: only the task's own token reads it)."""
    chosen = experiment.options.get("git")
    if not chosen:
        return None
    source = GitSource.from_dict(chosen)
    key = next((k.secret for k in keys if k.type == "git"), None) if source.private else None
    return GitCheckout(
        repo=source.repo,
        branch=source.branch,
        commit=source.commit,
        private=source.private,
        key=key,
    )


def flow_inputs(repo: ExperimentRepo, flow: dict[str, Any]) -> list[InputMount]:
    """A flow task's parents' artifacts: each parent experiment's output commit."""
    out = []
    for item in flow.get("inputs", []):
        parent = repo.get(item["experiment"])
        out.append(
            InputMount(
                name=item["name"],
                repo="files",
                commit=parent.output_commit,
                output_dir=parent.output_dir,
            )
        )
    return out


def tensorboard_logs(
    repo: ExperimentRepo, options: dict[str, Any]
) -> tuple[list[InputMount], dict[str, str]]:
    """A TensorBoard's logs: each chosen experiment's committed ``tensorboard/`` artifacts in
    ``input/<number>/tensorboard`` (read-only hardlinks), or, while it runs, its output folder
    on the worker (bound read-only), named by its number. A live one is named by its id and
    output folder, never by the ``runner.workdir`` its task reported (a task could report any
    path): the worker finds it among its own task folders."""
    mounts: list[InputMount] = []
    live: dict[str, str] = {}
    for experiment_id in (options.get("tensorboard") or {}).get("experiments", []):
        watched = repo.get(experiment_id)
        name = str(watched.number)
        if not watched.state.terminal and watched.runner.get("workdir"):
            live[name] = f"{watched.id}/{watched.output_dir}"
        else:
            mounts.append(
                InputMount(
                    name=f"{name}/tensorboard",
                    repo="files",
                    commit=watched.output_commit,
                    output_dir=f"{watched.output_dir.rstrip('/')}/tensorboard",
                )
            )
    return mounts, live

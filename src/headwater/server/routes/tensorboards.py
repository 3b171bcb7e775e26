"""TensorBoards (issue 15): a workspace of kind ``tensorboard`` over experiments' logs, opened
through the same ``/workspaces/<id>/`` proxy with the same checks (``files: all`` and ``jobs:
all``); listed, shown and stopped with the workspace routes. An experiment's page finds the
TensorBoard the project setting ``tensorboard`` started for it at ``.../tensorboard``."""

from __future__ import annotations

import importlib.util

from fastapi import APIRouter

from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.flowruns import RunRepo
from headwater.db.repos.workspaces import WorkspaceRepo
from headwater.domain.errors import Conflict, InvalidInput, NotFound
from headwater.domain.workspaces import WorkspaceKind, check_name
from headwater.schemas.workspaces import TensorBoardStart, WorkspaceOut
from headwater.server.deps import PlatformDep
from headwater.server.routes.workspaces import Opener, Reader, Service, workspace_out
from headwater.server.workspaces import tensorboards

router = APIRouter(prefix="/projects/{project_id}", tags=["workspaces"])


def _experiment_ids(platform: PlatformDep, project_id: str, body: TensorBoardStart) -> list[str]:
    """The chosen experiments' ids: the numbers given, or every experiment of the flow run."""
    if bool(body.experiments) == bool(body.flow_run):
        raise InvalidInput(
            "give either experiments or a flow run",
            where="experiments",
            hint="hw tensorboard start --experiments 3,4,7, or --flow-run RUN.",
        )
    with platform.db.read() as session:
        if body.flow_run:
            runs = RunRepo(session)
            run = runs.find_run(project_id, body.flow_run)
            ids = [i.experiment_id for i in runs.instances(run.id) if i.experiment_id]
            if not ids:
                raise Conflict(
                    f"flow run {body.flow_run} has no experiments yet",
                    where="flow_run",
                    hint="Start the TensorBoard once its tasks have started.",
                )
            return ids
        experiments = ExperimentRepo(session)
        return [experiments.find(project_id, str(n)).id for n in dict.fromkeys(body.experiments)]


@router.post("/tensorboards", response_model=WorkspaceOut, status_code=201)
def start_tensorboard(
    body: TensorBoardStart, access: Opener, platform: PlatformDep, service: Service
) -> WorkspaceOut:
    """Start TensorBoard over experiments' tensorboard/ logs, as a job behind the proxy."""
    project = access.project
    name = check_name(body.name)
    if importlib.util.find_spec("tensorboard") is None:  # tasks run on this interpreter
        raise Conflict(
            "TensorBoard is not installed on this server",
            where="tensorboard",
            hint="Install the workspaces extra: pip install 'headwater[workspaces]'.",
        )
    request = tensorboards.BoardRequest(
        project_id=project.id,
        user_id=access.user.id,
        name=name,
        experiment_ids=_experiment_ids(platform, project.id, body),
        token_sealed=platform.box.seal(service.new_token()),
        workspace_id=service.new_id(),
        policy=service.policy_for(project.id, body.idle_seconds, body.max_age_seconds),
        compute=body.compute,
    )
    workspace, number = tensorboards.create(platform, request)
    return workspace_out(workspace, number)


@router.get("/tensorboards", response_model=list[WorkspaceOut])
def list_tensorboards(
    access: Reader, platform: PlatformDep, active: bool = False
) -> list[WorkspaceOut]:
    """The project's TensorBoards, newest first (``active``: only starting or running ones)."""
    with platform.db.read() as session:
        found = WorkspaceRepo(session).of_project(
            access.project.id, active_only=active, kind=WorkspaceKind.TENSORBOARD
        )
        experiments = ExperimentRepo(session)
        numbers = {w.id: experiments.get(w.experiment_id).number for w in found}
    return [workspace_out(w, numbers[w.id]) for w in found]


@router.get("/experiments/{ref}/tensorboard", response_model=WorkspaceOut)
def tensorboard_of_experiment(ref: str, access: Reader, platform: PlatformDep) -> WorkspaceOut:
    """The TensorBoard started with this experiment (the project setting ``tensorboard``)."""
    with platform.db.read() as session:
        experiments = ExperimentRepo(session)
        experiment = experiments.find(access.project.id, ref)
        board = WorkspaceRepo(session).following(experiment.id)
        if board is None:
            raise NotFound(
                f"experiment {experiment.number} has no TensorBoard",
                where="experiment",
                hint="Turn the project setting tensorboard on before it runs, or start one: "
                f"hw tensorboard start --experiments {experiment.number}.",
            )
        number = experiments.get(board.experiment_id).number
    return workspace_out(board, number)

"""``POST /projects/{id}/models/{name}/versions/from-experiment``: an experiment's outputs (or a
file or folder of them) as a model version, without moving bytes (see server.model_registry).

No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from headwater.db.repos.experiments import ExperimentRepo
from headwater.domain.access import Permission
from headwater.schemas.versions import CommitResult, ModelFromExperiment
from headwater.server.deps import PlatformDep, ProjectAccess, require
from headwater.server.model_registry import register
from headwater.server.routes.repos import caller_scope, commit_out

router = APIRouter(prefix="/projects/{project_id}/models/{name}", tags=["model"])
writer = require(Permission.MODELS_WRITE)
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # as RepoCreate: the model may be made by this call
ModelName = Annotated[str, Path(min_length=1, max_length=100, pattern=NAME)]


@router.post(
    "/versions/from-experiment",
    response_model=CommitResult,
    status_code=201,
    name="model_version_from_experiment",
)
def model_version_from_experiment(
    name: ModelName,
    body: ModelFromExperiment,
    access: Annotated[ProjectAccess, Depends(writer)],
    platform: PlatformDep,
) -> CommitResult:
    """Register an experiment's outputs (or a file or folder of them) as a model version."""
    with platform.db.read() as session:
        experiment = ExperimentRepo(session).find(access.project.id, body.experiment)
    done = register(
        platform,
        experiment,
        name,
        path=body.path,
        scope=caller_scope(access),  # the outputs are in the project's files
        author=access.user.username,
        message=body.message,
        description=body.description,
    )
    return CommitResult(
        **commit_out(done.commit, done.source).model_dump(),
        merged=done.merged,
        unchanged=done.unchanged,
    )

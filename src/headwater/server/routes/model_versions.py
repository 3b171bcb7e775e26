"""A model version registered from an experiment's outputs (issue 12), without moving bytes.

The experiment committed its output folder on its branch of the project's files; this route
takes those entries (all of the output folder, or ``path`` inside it), renames them relative to
the output folder (``domain.model_sources``) and commits them as the model's new version. The
blobs are the experiment's: the commit may name them because the caller may read the project's
files (``BlobScope``); one who may not gets the commit refused like any other. The version keeps
a snapshot of the experiment's number, params and final metrics (``model_sources``).

No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
"""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from headwater.db.repos.activity import ActivityRepo
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.model_sources import ModelSourceRepo
from headwater.db.repos.versions import VersionRepo
from headwater.domain.access import Permission
from headwater.domain.entities import ActivityKind
from headwater.domain.errors import Conflict, NotFound
from headwater.domain.jobs import Experiment
from headwater.domain.model_sources import ModelSource, model_entries
from headwater.domain.trees import Tree
from headwater.domain.versions import Repo, RepoKind
from headwater.schemas.versions import CommitResult, ModelFromExperiment
from headwater.server.deps import PlatformDep, ProjectAccess, require
from headwater.server.platform import Platform
from headwater.server.routes.repos import RepoContext, commit_out

router = APIRouter(prefix="/projects/{project_id}/models/{name}", tags=["model"])
writer = require(Permission.MODELS_WRITE)
ModelName = Annotated[
    str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
]


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
    pid = access.project.id
    with platform.db.read() as session:
        experiment = ExperimentRepo(session).find(pid, body.experiment)
        values = ExperimentRepo(session).values(experiment.id)
        metrics = ExperimentRepo(session).latest_metrics(experiment.id)
    outputs = _outputs(platform, experiment)
    entries = model_entries(outputs, experiment.output_dir, body.path)
    repo = _model(platform, access, name, body.description)
    with platform.db.read() as session:
        head = VersionRepo(session).head(repo.id)
    outcome = platform.versioning.commit(
        repo.id,
        entries,
        scope=RepoContext(access, repo).scope,
        base=head.id if head else None,
        author=access.user.username,
        message=body.message or f"from experiment {experiment.number}",
    )
    source = ModelSource(
        commit_id=outcome.commit.id,
        experiment_id=experiment.id,
        experiment_number=experiment.number,
        path=body.path or experiment.output_dir.strip("/"),
        created_at=datetime.now(UTC),
        params={**experiment.params, **values.get("param", {})},
        metrics=metrics,
    )
    if outcome.unchanged:  # the head holds these files already: it keeps its own story
        with platform.db.read() as session:
            known = ModelSourceRepo(session).of_commits([outcome.commit.id])
        return CommitResult(
            **commit_out(outcome.commit, known.get(outcome.commit.id)).model_dump(),
            merged=outcome.merged,
            unchanged=True,
        )
    with platform.db.write() as session:
        ModelSourceRepo(session).record(source)
        ActivityRepo(session).record(
            pid,
            access.user.username,
            ActivityKind.VERSION_COMMITTED,
            f"registered experiment {experiment.number}'s outputs as model {name}",
            {"repo": name, "kind": "model", "commit": outcome.commit.id},
        )
    return CommitResult(
        **commit_out(outcome.commit, source).model_dump(), merged=outcome.merged, unchanged=False
    )


def _outputs(platform: Platform, experiment: Experiment) -> Tree:
    """The tree the experiment committed on its branch of the project's files."""
    if experiment.output_commit is None:
        raise Conflict(
            f"experiment {experiment.number} has no committed outputs "
            f"(state {experiment.state.value})",
            where="experiment",
            hint="Register a model from an experiment that ended and wrote files to its "
            f"output folder ({experiment.output_dir}/).",
        )
    with platform.db.write() as session:
        files = VersionRepo(session).files_repo(experiment.project_id)
    with platform.db.read() as session:
        commit = VersionRepo(session).resolve(files.id, experiment.output_commit)
    return platform.versioning.load_tree(commit.tree)


def _model(platform: Platform, access: ProjectAccess, name: str, description: str) -> Repo:
    """The model named ``name``, created when missing."""
    with platform.db.write() as session:
        versions = VersionRepo(session)
        try:
            return versions.get(access.project.id, RepoKind.MODEL, name)
        except NotFound:
            repo = versions.create(access.project.id, RepoKind.MODEL, name, description)
            ActivityRepo(session).record(
                access.project.id,
                access.user.username,
                ActivityKind.RESOURCE_CREATED,
                f"created model {name}",
                {"kind": "model", "name": name},
            )
            return repo

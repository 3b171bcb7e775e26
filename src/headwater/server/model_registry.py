"""Registering an experiment's outputs as a model version (issue 12): the one place that does
it, for ``POST /models/{name}/versions/from-experiment`` and for the versions a task asked for
with the SDK's ``log_model`` (registered when it reports its end with its output commit).

No bytes move: the version names the blobs the experiment committed on its branch of the
project's files. The commit names them under ``scope``, so a caller who may not read the
project's files cannot lift them into a model. The version keeps a snapshot of the experiment's
number, params and final metrics (``model_sources``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from headwater.db.repos.activity import ActivityRepo
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.model_sources import ModelSourceRepo
from headwater.db.repos.projects import ProjectRepo
from headwater.db.repos.users import UserRepo
from headwater.db.repos.versions import VersionRepo
from headwater.domain.access import Permission, allows
from headwater.domain.entities import ActivityKind
from headwater.domain.errors import Conflict, HeadwaterError, NotFound, PermissionDenied
from headwater.domain.jobs import Experiment, JobState, can_move
from headwater.domain.model_sources import (
    MODEL_VALUES,
    ModelSource,
    check_model_name,
    model_entries,
)
from headwater.domain.trees import Tree
from headwater.domain.versions import BlobScope, Commit, Repo, RepoKind
from headwater.server.platform import Platform

log = logging.getLogger(__name__)
# A version is exactly the files registered, never a merge with one registered beside it: the
# head is read and committed on under this lock, so a flow's instances that end together each
# add their own version (one server process registers; see docs/datasets-and-models.md).
_COMMITTING = threading.Lock()


@dataclass(frozen=True)
class Registered:
    commit: Commit
    source: ModelSource | None  # None: unchanged, and the head has no source of its own
    merged: bool
    unchanged: bool


def register(
    platform: Platform,
    experiment: Experiment,
    name: str,
    *,
    path: str | None,
    scope: BlobScope,
    author: str,
    message: str = "",
    description: str = "",
) -> Registered:
    """Commit the experiment's outputs (or ``path`` in them) as model ``name``'s new version,
    creating the model when missing, and record where the version came from."""
    check_model_name(name)
    entries = model_entries(_outputs(platform, experiment), experiment.output_dir, path)
    with platform.db.read() as session:
        values = ExperimentRepo(session).values(experiment.id)
        metrics = ExperimentRepo(session).latest_metrics(experiment.id)
    with _COMMITTING:
        repo = _model(platform, experiment.project_id, name, author, description)
        with platform.db.read() as session:
            head = VersionRepo(session).head(repo.id)
        outcome = platform.versioning.commit(
            repo.id,
            entries,
            scope=scope,
            base=head.id if head else None,
            author=author,
            message=message or f"from experiment {experiment.number}",
        )
    if outcome.unchanged:  # the head holds these files already: it keeps its own story
        with platform.db.read() as session:
            known = ModelSourceRepo(session).of_commits([outcome.commit.id])
        return Registered(outcome.commit, known.get(outcome.commit.id), outcome.merged, True)
    source = ModelSource(
        commit_id=outcome.commit.id,
        experiment_id=experiment.id,
        experiment_number=experiment.number,
        path=path or experiment.output_dir.strip("/"),
        created_at=datetime.now(UTC),
        params={**experiment.params, **values.get("param", {})},
        metrics=metrics,
    )
    with platform.db.write() as session:
        ModelSourceRepo(session).record(source)
        ActivityRepo(session).record(
            experiment.project_id,
            author,
            ActivityKind.VERSION_COMMITTED,
            f"registered experiment {experiment.number}'s outputs as model {name}",
            {"repo": name, "kind": "model", "commit": outcome.commit.id},
        )
    return Registered(outcome.commit, source, outcome.merged, False)


def register_requested(platform: Platform, experiment: Experiment, output_commit: str) -> list[str]:
    """The versions the task asked for with ``log_model``, as it reports that it ended well
    with ``output_commit`` (before the end is recorded). They are registered as the
    experiment's creator, who must hold ``models: all``; what cannot be registered is said in
    the experiment's log (the lines returned, for ``append_to_log``); the task stays a
    success. Only the head of the experiment's own branch is registered."""
    if not can_move(experiment.state, JobState.SUCCESS):  # stopped meanwhile: no end to honour
        return []
    experiment_id = experiment.id
    experiment = replace(experiment, output_commit=output_commit)
    with platform.db.read() as session:
        experiments = ExperimentRepo(session)
        wanted = experiments.values(experiment_id).get(MODEL_VALUES, {})
        if not wanted:
            return []
        files = VersionRepo(session).files_repo(experiment.project_id)
        head = VersionRepo(session).head(files.id, experiment.branch)
        user = UserRepo(session).get(experiment.created_by)
        projects = ProjectRepo(session)
        caller = projects.caller(projects.get(experiment.project_id), user)
    said: list[str] = []
    folder = experiment.output_dir.strip("/")
    for name, inside in sorted(wanted.items()):  # inside: a path within the output folder
        path = f"{folder}/{inside}" if inside else None
        try:
            if head is None or head.id != output_commit:
                raise Conflict(f"the output commit is not the head of {experiment.branch}")
            if not allows(caller, Permission.MODELS_WRITE):
                raise PermissionDenied(f"{user.username} may not write models in this project")
            done = register(
                platform,
                experiment,
                name,
                path=path,
                scope=BlobScope(experiment.project_id, frozenset({RepoKind.FILES})),
                author=user.username,
            )
            said.append(
                f"log_model: registered {path or 'the outputs'} as model {name}, "
                f"version {done.commit.id[:12]}\n"
            )
        except HeadwaterError as exc:
            said.append(f"log_model: model {name} was not registered: {exc}\n")
        except Exception:  # the task's report must still land: say it, keep the trace
            log.exception("log_model: registering model %s of %s failed", name, experiment_id)
            said.append(f"log_model: model {name} was not registered: internal error\n")
    return said


def append_to_log(platform: Platform, experiment_id: str, lines: list[str]) -> None:
    """Server lines after the task's last ones (call it once the task's final logs landed:
    their sequence numbers are the task's own, and a number taken twice keeps the first)."""
    if not lines:
        return
    with platform.db.write() as session:
        experiments = ExperimentRepo(session)
        seq = experiments.next_log_seq(experiment_id)
        experiments.append_logs(
            experiment_id, [(seq + i, "stderr", text) for i, text in enumerate(lines)]
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


def _model(platform: Platform, project_id: str, name: str, author: str, description: str) -> Repo:
    """The model named ``name``, created when missing."""
    with platform.db.write() as session:
        versions = VersionRepo(session)
        try:
            return versions.get(project_id, RepoKind.MODEL, name)
        except NotFound:
            repo = versions.create(project_id, RepoKind.MODEL, name, description)
            ActivityRepo(session).record(
                project_id,
                author,
                ActivityKind.RESOURCE_CREATED,
                f"created model {name}",
                {"kind": "model", "name": name},
            )
            return repo

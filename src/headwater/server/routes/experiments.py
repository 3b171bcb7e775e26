"""Experiments: create (a grid of them), list, show, stop; logs, metrics, parameters and tags;
and the calls only a task's own token may make: its spec, its state, its outputs, and the
logs, tags, metrics and values it reports (nobody else writes them: ``deps.own_task``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.orm import Session

from headwater.db.repos.experiment_table import ExperimentTable
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.settings import SettingsRepo
from headwater.db.repos.versions import QueryRepo, VersionRepo
from headwater.domain.access import Permission
from headwater.domain.datasetref import parse_dataset_ref
from headwater.domain.errors import Conflict, InvalidInput
from headwater.domain.gitsource import GitRefused, git_source
from headwater.domain.ids import MAX_NUMBER
from headwater.domain.jobs import Experiment, JobState
from headwater.domain.paths import check_path
from headwater.domain.runquery import MAX_LENGTH, Catalog, Column, Node, filter_of, sort_of
from headwater.domain.versions import RepoKind
from headwater.schemas.common import Page
from headwater.schemas.experiments import (
    ExperimentColumnsOut,
    ExperimentCreate,
    ExperimentOut,
    LogBatch,
    LogChunkOut,
    LogsOut,
    MetricBatch,
    MetricSeries,
    OutputCommit,
    StateReport,
    TaskSpec,
    ValuesIn,
)
from headwater.server.deps import PlatformDep, ProjectAccess, bearer_token, own_task, require
from headwater.server.model_registry import append_to_log, register_requested
from headwater.server.platform import Platform
from headwater.server.taskspec import task_spec as build_task_spec
from headwater.server.views import experiment_out

router = APIRouter(prefix="/projects/{project_id}/experiments", tags=["experiments"])
Reader = Annotated[ProjectAccess, Depends(require(Permission.JOBS_READ))]
Writer = Annotated[ProjectAccess, Depends(require(Permission.JOBS_WRITE))]
COLUMNS_LIMIT = 500  # keys of each kind the column chooser lists
# What the task reports is the task's alone: its own token, never a user's (deps.own_task).
OwnTask = Annotated[ProjectAccess, Depends(own_task(Permission.JOBS_WRITE))]


def _find(platform: Platform, access: ProjectAccess, ref: str) -> Experiment:
    with platform.db.read() as session:
        return ExperimentRepo(session).find(access.project.id, ref)


def _chunks(batch: LogBatch) -> list[tuple[int, str, str]]:
    # NUL cannot be stored as text (PostgreSQL refuses it)
    return [(c.seq, c.stream, c.text.replace("\x00", "\ufffd")) for c in batch.chunks]


@router.post("", response_model=list[ExperimentOut], status_code=201)
def create_experiments(
    body: ExperimentCreate, access: Writer, platform: PlatformDep
) -> list[ExperimentOut]:
    project = access.project
    output_dir = body.output_dir
    if output_dir is not None:
        output_dir = check_path(output_dir)
    with platform.db.write() as session:
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
        if commit is None and git is None:  # a Git job starts from its clone, not the files
            head = versions.head(files.id)
            commit = head.id if head else None
        latest, pinned = dataset_mounts(session, project.id, body.options.datasets)
        options = body.options.model_dump(exclude={"cpus", "memory_mb", "gpus"})
        options.update(datasets=latest, dataset_mounts=pinned)
        if git is not None:
            options["git"] = git.to_dict()
        created = ExperimentRepo(session).create_many(
            project.id,
            access.user.id,
            command=body.command,
            runs=body.runs,
            title=body.title,
            computes=body.computes or list(settings.compute),
            start_commit=commit,
            output_dir=output_dir or settings.output_dir,
            options=options,
            resources={},
        )
    platform.engine.wake()
    return [experiment_out(e) for e in created]


def dataset_mounts(
    session: Session, project_id: str, refs: list[str]
) -> tuple[list[str], list[dict[str, str | None]]]:
    """Datasets by name, mounted at their latest version when the task starts, and those given
    as ``NAME@COMMIT`` or ``NAME:QUERY``, resolved now to a commit (and a query's filter), as a
    flow's data task resolves them."""
    versions = VersionRepo(session)
    latest: list[str] = []
    pinned: list[dict[str, str | None]] = []
    for i, text in enumerate(refs):
        ref = parse_dataset_ref(text, where=f"options.datasets[{i}]")
        repo = versions.get(project_id, RepoKind.DATASET, ref.name)  # NotFound names it
        if ref.query is not None:
            query = QueryRepo(session).get(repo, ref.query)
            commit = versions.resolve(repo.id, query.commit).id
            pinned.append({"name": ref.name, "commit": commit, "filter": query.filter})
        elif ref.commit is not None:
            commit = versions.resolve(repo.id, ref.commit).id
            pinned.append({"name": ref.name, "commit": commit, "filter": None})
        else:
            latest.append(ref.name)
    return latest, pinned


@router.get("", response_model=Page[ExperimentOut])
def list_experiments(
    access: Reader,
    platform: PlatformDep,
    state: JobState | None = None,
    ended: Annotated[bool | None, Query(description="Only ended (or only not ended) ones")] = None,
    first: Annotated[int | None, Query(ge=1, le=MAX_NUMBER, description="Lowest number")] = None,
    last: Annotated[int | None, Query(ge=1, le=MAX_NUMBER, description="Highest number")] = None,
    title: Annotated[str | None, Query(max_length=200, description="Exactly this title")] = None,
    title_prefix: Annotated[
        str | None, Query(max_length=200, description="Titles that start with this")
    ] = None,
    filter: Annotated[
        str | None,
        Query(
            max_length=MAX_LENGTH,
            description="Only those that match, e.g. `lr > 0.1 and accuracy >= 0.9`, "
            "`status == failed`, `metrics.loss.min < 0.2` (docs/experiments.md)",
        ),
    ] = None,
    sort: Annotated[
        str,
        Query(
            max_length=300,
            description="Order by this column: number, title, status, created, started, ended, "
            "duration, or any param, tag or metric (`params.lr`, `metrics.loss.min`, `accuracy`)",
        ),
    ] = "number",
    desc: Annotated[bool, Query(description="Highest first")] = True,
    offset: Annotated[int, Query(ge=0, le=MAX_NUMBER)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[ExperimentOut]:
    """One page of the project's experiments, filtered and sorted by any column in SQL."""
    numbers = None
    if first is not None or last is not None:
        numbers = (first or 1, last or MAX_NUMBER)
    with platform.db.read() as session:
        repo = ExperimentRepo(session)
        table = ExperimentTable(session)
        where, order = _query(table, access.project.id, filter, sort)
        items, total = table.page(
            access.project.id,
            offset=offset,
            limit=limit,
            state=state,
            ended=ended,
            numbers=numbers,
            title=title,
            title_prefix=title_prefix,
            order=order,
            descending=desc,
            where=where,
        )
        ids = [e.id for e in items]
        values = repo.values_of(ids)
        summaries = table.summaries_of(ids)
    return Page(
        items=[experiment_out(e, values.get(e.id), summaries=summaries.get(e.id)) for e in items],
        total=total,
        offset=offset,
        limit=limit,
    )


def _query(
    table: ExperimentTable, project_id: str, text: str | None, sort: str
) -> tuple[Node | None, Column]:
    """The filter and sort resolved; the project's keys are read only when a name needs them."""
    catalog = Catalog()
    if text and text.strip():
        catalog = table.catalog(project_id)
    else:
        try:
            return None, sort_of(sort, catalog)  # a built-in column
        except InvalidInput:
            catalog = table.catalog(project_id)
    return filter_of(text, catalog), sort_of(sort, catalog)


@router.get("/columns", response_model=ExperimentColumnsOut)
def experiment_columns(access: Reader, platform: PlatformDep) -> ExperimentColumnsOut:
    """The param, tag and metric keys of the project's experiments (the table's columns)."""
    with platform.db.read() as session:
        catalog = ExperimentTable(session).catalog(access.project.id)
    return ExperimentColumnsOut(
        params=sorted(catalog.params)[:COLUMNS_LIMIT],
        tags=sorted(catalog.tags)[:COLUMNS_LIMIT],
        metrics=sorted(catalog.metrics)[:COLUMNS_LIMIT],
    )


@router.get("/{ref}", response_model=ExperimentOut)
def show_experiment(ref: str, access: Reader, platform: PlatformDep) -> ExperimentOut:
    with platform.db.read() as session:
        repo = ExperimentRepo(session)
        experiment = repo.find(access.project.id, ref)
        values = repo.values(experiment.id)
        latest = repo.latest_metrics(experiment.id)
    return experiment_out(experiment, values, latest)


@router.post("/{ref}/stop", response_model=ExperimentOut)
def stop_experiment(ref: str, access: Writer, platform: PlatformDep) -> ExperimentOut:
    experiment = _find(platform, access, ref)
    if experiment.state.terminal:
        return experiment_out(experiment)
    platform.engine.stop(experiment)
    return experiment_out(_find(platform, access, experiment.id))


@router.get("/{ref}/logs", response_model=LogsOut)
def get_logs(
    ref: str,
    access: Reader,
    platform: PlatformDep,
    after: Annotated[int, Query(ge=0, le=MAX_NUMBER, description="First seq to return")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> LogsOut:
    with platform.db.read() as session:
        repo = ExperimentRepo(session)
        experiment = repo.find(access.project.id, ref)
        rows = repo.logs(experiment.id, after=after, limit=limit)
    chunks = [LogChunkOut(seq=r.seq, stream=r.stream, text=r.text, at=r.at) for r in rows]
    return LogsOut(
        chunks=chunks,
        next_seq=chunks[-1].seq + 1 if chunks else after,
        state=experiment.state,
    )


@router.post("/{ref}/logs", status_code=204)
def append_logs(ref: str, body: LogBatch, access: OwnTask, platform: PlatformDep) -> Response:
    experiment = _find(platform, access, ref)
    with platform.db.write() as session:
        repo = ExperimentRepo(session)
        repo.append_logs(experiment.id, _chunks(body))
        repo.set_values(experiment.id, "tag", body.tags)
    return Response(status_code=204)


@router.get("/{ref}/metrics", response_model=list[MetricSeries])
def get_metrics(
    ref: str,
    access: Reader,
    platform: PlatformDep,
    key: Annotated[str | None, Query(max_length=255)] = None,
) -> list[MetricSeries]:
    with platform.db.read() as session:
        repo = ExperimentRepo(session)
        experiment = repo.find(access.project.id, ref)
        series = repo.metrics(experiment.id, key)
    return [
        MetricSeries(key=k, steps=steps, values=values, times=times)
        for k, (steps, values, times) in series.items()
    ]


_METRICS_BODY = {
    "required": True,
    "content": {"application/json": {"schema": MetricBatch.model_json_schema()}},
}


@router.post(
    "/{ref}/metrics",
    response_model=dict[str, int],
    openapi_extra={"requestBody": _METRICS_BODY},
)
async def log_metrics(
    ref: str, request: Request, access: OwnTask, platform: PlatformDep
) -> dict[str, int]:
    # The body is validated straight from its bytes (pydantic-core parses the JSON): a batch
    # holds thousands of points, and FastAPI's json.loads-then-validate costs twice as much.
    try:
        body = MetricBatch.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None

    def store() -> int:
        experiment = _find(platform, access, ref)
        with platform.db.write() as session:
            return ExperimentRepo(session).add_metrics(experiment.id, body.points, body.batch)

    return {"stored": await run_in_threadpool(store)}


@router.post("/{ref}/values", status_code=204)
def log_values(ref: str, body: ValuesIn, access: OwnTask, platform: PlatformDep) -> Response:
    experiment = _find(platform, access, ref)
    with platform.db.write() as session:
        ExperimentRepo(session).set_values(experiment.id, body.kind, body.values)
    return Response(status_code=204)


@router.get("/{ref}/spec", response_model=TaskSpec)
def task_spec(ref: str, request: Request, access: OwnTask, platform: PlatformDep) -> TaskSpec:
    experiment = _find(platform, access, ref)
    token = bearer_token(request) or ""
    return build_task_spec(
        platform.db, platform.box, platform.public_url(), experiment, token, access.project
    )


@router.post("/{ref}/state", response_model=ExperimentOut)
async def report_state(
    ref: str, body: StateReport, access: OwnTask, platform: PlatformDep
) -> Response:
    # Every task makes this call: one threadpool hop for all of it, and the answer encoded
    # there too (a sync route would hop again to validate what it returns).
    def apply() -> bytes:
        experiment = _find(platform, access, ref)
        said: list[str] = []
        if body.state is JobState.SUCCESS and body.output_commit:
            # What the task marked with log_model, before the end shows: whoever sees the
            # experiment succeed finds its model versions there.
            said = register_requested(platform, experiment, body.output_commit)
        now, moved = platform.engine.report(
            experiment.id,
            body.state,
            reason=body.reason,
            exit_code=body.exit_code,
            runner=body.runner,
            output_commit=body.output_commit,
            logs=_chunks(body.logs) if body.logs else (),
            tags=body.logs.tags if body.logs else None,
            running_for=body.running_for,
        )
        if not moved:
            raise Conflict(
                f"experiment {now.number} is {now.state.value}; "
                f"it cannot become {body.state.value}",
                where=f"experiment {now.number}",
                hint="It was stopped or has ended: there is nothing more to report.",
            )
        append_to_log(platform, now.id, said)
        return experiment_out(now).model_dump_json().encode()

    return Response(await run_in_threadpool(apply), media_type="application/json")


@router.post("/{ref}/output", status_code=204)
def record_output(ref: str, body: OutputCommit, access: OwnTask, platform: PlatformDep) -> Response:
    experiment = _find(platform, access, ref)
    with platform.db.write() as session:
        ExperimentRepo(session).set_output_commit(experiment.id, body.commit)
    return Response(status_code=204)

"""Runs of flows ("bakes", seed 002): start, list, inspect, stop, restart, and approve or
reject a task pending approval. Runs are jobs: reading them takes read access to jobs,
starting or stopping them takes all; deciding takes a listed approver, the owner or an admin."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.flowruns import RunRepo
from headwater.db.repos.flows import FlowRepo
from headwater.domain.access import Permission
from headwater.domain.errors import InvalidInput, NotFound, PermissionDenied
from headwater.domain.flowruns import FlowRun, RunInstance, RunTask
from headwater.domain.flowspec.model import GatedTask
from headwater.domain.ids import MAX_NUMBER
from headwater.domain.jobs import JobState
from headwater.engine.flows import run_flow_spec
from headwater.engine.flowstart import start_run
from headwater.schemas.common import Page
from headwater.schemas.flows import (
    CacheNote,
    Decision,
    FlowRestart,
    FlowRunCreate,
    FlowRunOut,
    InstanceOut,
    RelationOut,
    RunTaskOut,
)
from headwater.server.deps import PlatformDep, ProjectAccess, require
from headwater.server.platform import Platform

router = APIRouter(prefix="/projects/{project_id}", tags=["flows"])
Reader = Annotated[ProjectAccess, Depends(require(Permission.JOBS_READ))]
Writer = Annotated[ProjectAccess, Depends(require(Permission.JOBS_WRITE))]
Offset = Annotated[int, Query(ge=0, le=MAX_NUMBER)]
Limit = Annotated[int, Query(ge=1, le=500)]
MAX_PAGE = 500  # instances in one answer, at most
PER_TASK = 100  # instances of each task an inspected run shows unless asked otherwise


def run_out(run: FlowRun) -> FlowRunOut:
    return FlowRunOut(
        id=run.id,
        number=run.number,
        project_id=run.project_id,
        flow=run.flow,
        version=run.version,
        status=run.state,
        trigger=run.trigger,
        reason=run.reason,
        only=run.only,
        restart_of=run.restart_of,
        created_by=run.created_by,
        created_at=run.created_at,
        started_at=run.started_at,
        ended_at=run.ended_at,
    )


def _instance_out(i: RunInstance, tags: dict[str, str]) -> InstanceOut:
    return InstanceOut(
        id=i.id,
        task=i.task,
        experiment_id=i.experiment_id,
        experiment_number=i.number,
        status=i.state,
        reason=i.reason,
        params=i.params,
        tags=tags,
        parents=list(i.parents),
        created_at=i.created_at or datetime.now(UTC),
        started_at=i.started_at,
        finished_at=i.ended_at if i.state.terminal else None,
        cache=_cache_note(i),
    )


def _cache_note(i: RunInstance) -> CacheNote | None:
    """The step cache's note on an exec instance (none on older runs, data and deploy)."""
    note = i.data.get("cache")
    return CacheNote.model_validate(note) if isinstance(note, dict) else None


def _decision(task: RunTask) -> Literal["approved", "rejected"] | None:
    """How a person decided a gated task: an approval sets ``approved``; a rejection does not."""
    if task.decided_by is None:
        return None
    return "approved" if task.approved else "rejected"


def _instances_out(session: Session, instances: Sequence[RunInstance]) -> list[InstanceOut]:
    """Instances with their tags: what their experiments recorded, and a deploy's own."""
    ids = [i.experiment_id for i in instances if i.experiment_id]
    values = ExperimentRepo(session).values_of(ids) if ids else {}
    out = []
    for inst in instances:
        tags = dict(values.get(inst.experiment_id or "", {}).get("tag", {}))
        tags.update({str(k): str(v) for k, v in (inst.data.get("tags") or {}).items()})
        out.append(_instance_out(inst, tags))
    return out


def inspect_out(
    platform: Platform, run: FlowRun, *, with_instances: bool = True, per_task: int = PER_TASK
) -> FlowRunOut:
    """The run with every task and its instances' counts by state; with the first
    ``per_task`` instances of each task too (their parameters and tags) unless
    ``with_instances`` is False (a client polling a wide run). The rest are paged by
    ``GET .../instances``: a 10,000-instance run is never answered whole."""
    by_task: dict[str, list[InstanceOut]] = {}
    with platform.db.read() as session:
        runs = RunRepo(session)
        spec = run_flow_spec(session, run)
        tasks = {t.title: t for t in runs.tasks(run.id)}
        counts = runs.state_counts(run.id)
        if with_instances and per_task > 0:
            for title in counts:
                found, _ = runs.instances_page(run.id, task=title, limit=per_task)
                by_task[title] = _instances_out(session, found)
    out = run_out(run)
    out.tasks = [
        RunTaskOut(
            title=t.title,
            type=t.type,
            status=tasks[t.title].state,
            reason=tasks[t.title].reason,
            approvers=list(t.approvers) if isinstance(t, GatedTask) else [],
            decided_by=tasks[t.title].decided_by,
            decision=_decision(tasks[t.title]),
            comment=tasks[t.title].comment,
            counts=counts.get(t.title, {}),
            total=sum(counts.get(t.title, {}).values()),
            instances=by_task.get(t.title, []),
        )
        for t in spec.tasks
    ]
    out.relations = [RelationOut(source=r.source, to=r.to) for r in spec.relations]
    return out


# -- runs ----------------------------------------------------------------------------------


@router.post("/flows/{name}/runs", response_model=FlowRunOut, status_code=201)
def run_flow(name: str, body: FlowRunCreate, access: Writer, platform: PlatformDep) -> FlowRunOut:
    if body.inputs_from is not None and body.only is None:
        raise InvalidInput(
            "inputs_from needs only", where="inputs_from", hint="Use --only TASK with it."
        )
    with platform.db.write() as session:
        repo = FlowRepo(session)
        runs = RunRepo(session)
        flow = repo.get(access.project.id, name)
        earlier = runs.find_run(access.project.id, body.inputs_from) if body.inputs_from else None
        run = start_run(
            session,
            flow,
            user_id=access.user.id,
            username=access.user.username,
            trigger="manual" if body.only is None else f"manual (--only {body.only})",
            version=body.version,
            only=body.only,
            inputs_from=earlier,
            params=body.params,
            no_cache=body.no_cache,
            refresh=body.refresh,
            max_instances=platform.settings.flow_max_instances,
        )
    platform.engine.flows.advance_one(run.id)
    platform.engine.wake()
    return inspect_out(platform, _run(platform, access, run.id))


def _run(platform: Platform, access: ProjectAccess, ref: str) -> FlowRun:
    with platform.db.read() as session:
        return RunRepo(session).find_run(access.project.id, ref)


@router.get("/flow-runs", response_model=Page[FlowRunOut])
def list_flow_runs(
    access: Reader,
    platform: PlatformDep,
    flow: Annotated[str | None, Query(max_length=200)] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[FlowRunOut]:
    with platform.db.read() as session:
        repo = FlowRepo(session)
        flow_id = repo.get(access.project.id, flow).id if flow else None
        found, total = RunRepo(session).runs_page(
            access.project.id, flow_id=flow_id, offset=offset, limit=limit
        )
    return Page(items=[run_out(r) for r in found], total=total, offset=offset, limit=limit)


@router.get("/flow-runs/{ref}", response_model=FlowRunOut)
def inspect_flow_run(
    ref: str,
    access: Reader,
    platform: PlatformDep,
    instances: Annotated[bool, Query(description="false: tasks with counts only")] = True,
    instance_limit: Annotated[
        int, Query(ge=0, le=MAX_PAGE, description="Instances shown per task (the first ones)")
    ] = PER_TASK,
) -> FlowRunOut:
    """One run: its tasks with counts by state, and the first instances of each."""
    run = _run(platform, access, ref)
    return inspect_out(platform, run, with_instances=instances, per_task=instance_limit)


@router.get("/flow-runs/{ref}/instances", response_model=Page[InstanceOut])
def list_flow_run_instances(
    ref: str,
    access: Reader,
    platform: PlatformDep,
    task: Annotated[str | None, Query(max_length=200, description="Only this task's")] = None,
    status: Annotated[JobState | None, Query(description="Only instances in this state")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PER_TASK,
) -> Page[InstanceOut]:
    """A run's instances, one page at a time, in the order they were made."""
    run = _run(platform, access, ref)
    with platform.db.read() as session:
        found, total = RunRepo(session).instances_page(
            run.id, task=task, state=status, offset=offset, limit=limit
        )
        items = _instances_out(session, found)
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.post("/flow-runs/{ref}/stop", response_model=FlowRunOut)
def stop_flow_run(ref: str, access: Writer, platform: PlatformDep) -> FlowRunOut:
    run = _run(platform, access, ref)
    stopped = platform.engine.flows.stop(run, reason=f"stopped by {access.user.username}")
    return inspect_out(platform, stopped)


@router.post("/flow-runs/{ref}/restart", response_model=FlowRunOut, status_code=201)
def restart_flow_run(
    ref: str, body: FlowRestart, access: Writer, platform: PlatformDep
) -> FlowRunOut:
    with platform.db.write() as session:
        repo = FlowRepo(session)
        runs = RunRepo(session)
        old = runs.find_run(access.project.id, ref)
        run = start_run(
            session,
            repo.by_id(old.flow_id),
            user_id=access.user.id,
            username=access.user.username,
            trigger=f"restart of run {old.number}",
            version=body.version,
            keep_from=old,
            params=body.params,
            from_failed=body.from_failed,
            max_instances=platform.settings.flow_max_instances,
        )
    platform.engine.flows.advance_one(run.id)
    platform.engine.wake()
    return inspect_out(platform, _run(platform, access, run.id))


def _may_decide(platform: Platform, access: ProjectAccess, run: FlowRun, title: str) -> None:
    """Only the task's listed approvers, the project's owner or an admin decide."""
    user = access.user
    if user.is_admin or access.project.owner_id == user.id:
        return
    with platform.db.read() as session:
        spec = run_flow_spec(session, run)
    try:
        task = spec.task(title)
    except KeyError:
        raise NotFound(
            f"run {run.number} has no task {title!r}",
            where="task",
            hint="`hw inspect RUN` lists its tasks.",
        ) from None
    approvers = task.approvers if isinstance(task, GatedTask) else ()
    if user.username in approvers or user.email in approvers:
        return
    raise PermissionDenied(
        f"only {', '.join(approvers) or 'its approvers'}, the project's owner or an admin may "
        f"decide task {title!r}",
        where="task",
        hint="Ask one of them to approve or reject it.",
    )


@router.post("/flow-runs/{ref}/tasks/{title}/approve", response_model=FlowRunOut)
def approve_flow_task(
    ref: str, title: str, body: Decision, access: Reader, platform: PlatformDep
) -> FlowRunOut:
    run = _run(platform, access, ref)
    _may_decide(platform, access, run, title)
    decided = platform.engine.flows.decide(
        run, title, approve=True, user=access.user.username, comment=body.comment
    )
    platform.engine.wake()
    return inspect_out(platform, decided)


@router.post("/flow-runs/{ref}/tasks/{title}/reject", response_model=FlowRunOut)
def reject_flow_task(
    ref: str, title: str, body: Decision, access: Reader, platform: PlatformDep
) -> FlowRunOut:
    run = _run(platform, access, ref)
    _may_decide(platform, access, run, title)
    decided = platform.engine.flows.decide(
        run, title, approve=False, user=access.user.username, comment=body.comment
    )
    return inspect_out(platform, decided)

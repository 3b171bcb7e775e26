"""Flows (seed 002): import and version, export, delete, and the triggers that start runs by
themselves (a dataset's new version, a webhook). Flows are jobs: reading them takes read
access to jobs, changing them takes all. Runs are ``flowruns.py``'s. The endpoints deploy
tasks define are listed here until the serving package owns them."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from sqlalchemy.orm import Session

from headwater.db.repos.flowruns import RunRepo
from headwater.db.repos.flows import FlowRepo
from headwater.db.repos.stepcache import StepCacheRepo
from headwater.db.repos.users import UserRepo
from headwater.db.repos.versions import VersionRepo
from headwater.domain.access import Permission
from headwater.domain.credentials import token_hash
from headwater.domain.errors import InvalidInput, NotFound, Unauthenticated
from headwater.domain.flowruns import FlowRecord, FlowRun, FlowVersion, Trigger
from headwater.domain.ids import MAX_NUMBER
from headwater.domain.versions import RepoKind
from headwater.engine.flows import load_flow
from headwater.engine.flowstart import save_flow, start_run
from headwater.schemas.common import Page
from headwater.schemas.flows import (
    CacheCleared,
    FlowImport,
    FlowOut,
    FlowRunOut,
    FlowVersionOut,
    TriggerCreate,
    TriggerOut,
)
from headwater.server.deps import PlatformDep, ProjectAccess, require
from headwater.server.platform import Platform
from headwater.server.routes.flowruns import run_out

router = APIRouter(prefix="/projects/{project_id}", tags=["flows"])
hooks = APIRouter(prefix="/hooks", tags=["flows"])
Reader = Annotated[ProjectAccess, Depends(require(Permission.JOBS_READ))]
Writer = Annotated[ProjectAccess, Depends(require(Permission.JOBS_WRITE))]
Offset = Annotated[int, Query(ge=0, le=MAX_NUMBER)]
Limit = Annotated[int, Query(ge=1, le=500)]


def _flow_out(
    platform: Platform, session: Session, flow: FlowRecord, *, runs: int = 0, created: bool = False
) -> FlowOut:
    """The flow with what its latest version schedules, read in the caller's transaction."""
    spec = load_flow(FlowRepo(session), flow, flow.latest_version)
    return FlowOut(
        id=flow.id,
        name=flow.name,
        latest_version=flow.latest_version,
        created_at=flow.created_at,
        updated_at=flow.updated_at,
        schedule=spec.schedule,
        recurring=spec.recurring,
        next_run_at=platform.engine.triggers.next_run(flow, spec),
        runs=runs,
        created=created,
    )


def _version_out(name: str, v: FlowVersion, *, with_yaml: bool) -> FlowVersionOut:
    return FlowVersionOut(
        flow=name,
        number=v.number,
        created_by=v.created_by,
        created_at=v.created_at,
        tasks=v.tasks,
        yaml=v.yaml if with_yaml else None,
    )


# -- flows and versions --------------------------------------------------------------------


@router.post("/flows", response_model=FlowOut)
def import_flow(body: FlowImport, access: Writer, platform: PlatformDep) -> FlowOut:
    with platform.db.write() as session:
        flow, _, created = save_flow(
            session,
            access.project.id,
            body.yaml,
            file_name=body.file_name,
            user_id=access.user.id,
            username=access.user.username,
            max_instances=platform.settings.flow_max_instances,
        )
        return _flow_out(platform, session, flow, created=created)


@router.get("/flows", response_model=Page[FlowOut])
def list_flows(
    access: Reader, platform: PlatformDep, offset: Offset = 0, limit: Limit = 50
) -> Page[FlowOut]:
    with platform.db.read() as session:
        repo = FlowRepo(session)
        runs = RunRepo(session)
        flows, total = repo.page(access.project.id, offset=offset, limit=limit)
        counts = runs.run_counts([f.id for f in flows])
        items = [_flow_out(platform, session, f, runs=counts.get(f.id, 0)) for f in flows]
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.get("/flows/{name}", response_model=FlowOut)
def show_flow(name: str, access: Reader, platform: PlatformDep) -> FlowOut:
    with platform.db.read() as session:
        repo = FlowRepo(session)
        flow = repo.get(access.project.id, name)
        count = RunRepo(session).run_counts([flow.id]).get(flow.id, 0)
        return _flow_out(platform, session, flow, runs=count)


@router.delete("/flows/{name}", status_code=204)
def delete_flow(name: str, access: Writer, platform: PlatformDep) -> Response:
    with platform.db.write() as session:
        repo = FlowRepo(session)
        flow = repo.get(access.project.id, name)
        active = [r for r in RunRepo(session).active_runs() if r.flow_id == flow.id]
        if active:
            raise InvalidInput(
                f"flow {name!r} has {len(active)} run(s) going on",
                where="flow",
                hint=f"Stop them first: hw flow stop {active[0].number}.",
            )
        repo.delete(flow)
    return Response(status_code=204)


@router.delete("/flows/{name}/cache", response_model=CacheCleared)
def clear_flow_cache(
    name: str,
    access: Writer,
    platform: PlatformDep,
    task: Annotated[str | None, Query(max_length=200, description="Only this task's")] = None,
) -> CacheCleared:
    """Forget the flow's step-cache results (one task's with ``task``): the next run runs them."""
    with platform.db.write() as session:
        flow = FlowRepo(session).get(access.project.id, name)
        cleared = StepCacheRepo(session).clear(flow.id, task)
    return CacheCleared(flow=flow.name, task=task, cleared=cleared)


@router.get("/flows/{name}/versions", response_model=list[FlowVersionOut])
def list_flow_versions(name: str, access: Reader, platform: PlatformDep) -> list[FlowVersionOut]:
    with platform.db.read() as session:
        repo = FlowRepo(session)
        flow = repo.get(access.project.id, name)
        versions = repo.versions(flow.id)
    return [_version_out(name, v, with_yaml=False) for v in versions]


@router.get("/flows/{name}/versions/{number}", response_model=FlowVersionOut)
def show_flow_version(
    name: str,
    number: Annotated[int, Path(ge=1, le=MAX_NUMBER)],
    access: Reader,
    platform: PlatformDep,
) -> FlowVersionOut:
    with platform.db.read() as session:
        repo = FlowRepo(session)
        version = repo.version(repo.get(access.project.id, name), number)
    return _version_out(name, version, with_yaml=True)


# -- triggers ------------------------------------------------------------------------------


def _trigger_out(
    platform: Platform, name: str, trigger: Trigger, token: str | None = None
) -> TriggerOut:
    url = None
    if trigger.kind == "webhook":
        url = f"{platform.public_url()}/api/v1/hooks/flows/{quote(trigger.id)}"
    return TriggerOut(
        id=trigger.id,
        flow=name,
        kind="webhook" if trigger.kind == "webhook" else "dataset",
        dataset=trigger.dataset,
        created_at=trigger.created_at,
        last_fired_at=trigger.last_fired_at,
        url=url,
        token=token,
    )


@router.get("/flows/{name}/triggers", response_model=list[TriggerOut])
def list_flow_triggers(name: str, access: Reader, platform: PlatformDep) -> list[TriggerOut]:
    with platform.db.read() as session:
        repo = FlowRepo(session)
        triggers = repo.triggers(repo.get(access.project.id, name).id)
    return [_trigger_out(platform, name, t) for t in triggers]


@router.post("/flows/{name}/triggers", response_model=TriggerOut, status_code=201)
def create_flow_trigger(
    name: str, body: TriggerCreate, access: Writer, platform: PlatformDep
) -> TriggerOut:
    token = None
    with platform.db.write() as session:
        repo = FlowRepo(session)
        flow = repo.get(access.project.id, name)
        if body.kind == "dataset":
            if not body.dataset:
                raise InvalidInput(
                    "a dataset trigger needs the dataset's name",
                    where="dataset",
                    hint="hw flow trigger add NAME --dataset DATASET",
                )
            versions = VersionRepo(session)
            dataset = versions.get(access.project.id, RepoKind.DATASET, body.dataset)
            head = versions.head(dataset.id)
            trigger = repo.add_trigger(
                flow,
                "dataset",
                created_by=access.user.username,
                dataset=body.dataset,
                seen_commit=head.id if head else None,
            )
        else:
            token = secrets.token_urlsafe(24)
            trigger = repo.add_trigger(
                flow, "webhook", created_by=access.user.username, token_hash=token_hash(token)
            )
    return _trigger_out(platform, name, trigger, token)


@router.delete("/flows/{name}/triggers/{trigger_id}", status_code=204)
def delete_flow_trigger(
    name: str, trigger_id: str, access: Writer, platform: PlatformDep
) -> Response:
    with platform.db.write() as session:
        repo = FlowRepo(session)
        repo.delete_trigger(repo.get(access.project.id, name).id, trigger_id)
    return Response(status_code=204)


@hooks.post("/flows/{trigger_id}", response_model=FlowRunOut, status_code=201)
def fire_flow_webhook(
    trigger_id: str,
    platform: PlatformDep,
    x_headwater_token: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query(max_length=200)] = None,
) -> FlowRunOut:
    """Start a run of the flow's latest version; the trigger's token is the credential."""
    given = x_headwater_token or token or ""
    refused = Unauthenticated(
        "this webhook needs its token",
        where="X-Headwater-Token",
        hint="Send the token `hw flow trigger add --webhook` printed, in X-Headwater-Token.",
    )
    with platform.db.write() as session:
        repo = FlowRepo(session)
        try:
            trigger = repo.trigger(trigger_id)
        except NotFound:
            raise refused from None
        if trigger.kind != "webhook" or not hmac.compare_digest(
            trigger.token_hash or "", token_hash(given)
        ):
            raise refused
        flow = repo.by_id(trigger.flow_id)
        owner = UserRepo(session).get(flow.created_by)
        repo.fired(trigger.id)
        run = start_run(session, flow, user_id=owner.id, username=owner.username, trigger="webhook")
    platform.engine.flows.advance_one(run.id)
    platform.engine.wake()
    return run_out(_reload(platform, run.id))


def _reload(platform: Platform, run_id: str) -> FlowRun:
    with platform.db.read() as session:
        return RunRepo(session).run(run_id)

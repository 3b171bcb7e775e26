"""Endpoints (issue 13): deploying, reading, scaling, stopping and rolling back what serves.
Endpoints are jobs: reading takes jobs read, changing them jobs all. The predict calls
themselves are the gateway's (``/api/v1/endpoints/<slug>/predict``).

A replica's task reports the address it listens on here (``report_serving``, its own task
token only), once it has loaded the function; the gateway routes only to such replicas."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from headwater.db.repos.endpoints import EndpointRepo
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.versions import VersionRepo
from headwater.db.repos.workspaces import WorkspaceRepo
from headwater.domain.access import Permission
from headwater.domain.endpoint_records import Endpoint, EndpointVersion, Replica
from headwater.domain.endpoints import (
    EndpointStatus,
    ReplicaState,
    VersionState,
    can_move,
)
from headwater.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from headwater.domain.ids import MAX_NUMBER
from headwater.domain.trees import Tree
from headwater.domain.versions import RepoKind
from headwater.engine import endpoints as deploys
from headwater.engine.endpoints import IssuedKey, VersionSource
from headwater.schemas.common import Page
from headwater.schemas.endpoints import (
    EndpointDeploy,
    EndpointDeployed,
    EndpointDetail,
    EndpointKey,
    EndpointLogChunk,
    EndpointLogsOut,
    EndpointOut,
    EndpointRollback,
    EndpointScale,
    EndpointSummary,
    ReplicaOut,
    ServingAddress,
    TrafficShare,
    VersionOut,
)
from headwater.server.deps import PlatformDep, ProjectAccess, own_task, require
from headwater.server.gateway import gateway_of
from headwater.server.platform import Platform
from headwater.server.taskfolder import known_task_folder

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

router = APIRouter(prefix="/projects/{project_id}", tags=["endpoints"])
Reader = Annotated[ProjectAccess, Depends(require(Permission.JOBS_READ))]
Writer = Annotated[ProjectAccess, Depends(require(Permission.JOBS_WRITE))]
OwnTask = Annotated[ProjectAccess, Depends(own_task(Permission.JOBS_WRITE))]
Offset = Annotated[int, Query(ge=0, le=MAX_NUMBER)]
Limit = Annotated[int, Query(ge=1, le=500)]
LOG_REPLICAS = 50  # the newest replicas whose logs an endpoint's log reads
VERSIONS_SHOWN = 50  # continual learning deploys for ever: the newest versions, and any serving


def endpoint_out(e: Endpoint) -> EndpointOut:
    return EndpointOut(
        id=e.id,
        title=e.title,
        slug=e.slug,
        status=e.status,
        desired=e.desired,
        min_replicas=e.min_replicas,
        max_replicas=e.max_replicas,
        replicas_wanted=e.replicas_wanted,
        definition=e.definition,
        flow_run=e.flow_run_number,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def _detail(platform: Platform, project_id: str, ref: str) -> EndpointDetail:
    with platform.db.read() as session:
        repo = EndpointRepo(session)
        endpoint = repo.get(project_id, ref)
        every = repo.versions(endpoint.id)  # newest first
        versions = every[:VERSIONS_SHOWN] + [
            v for v in every[VERSIONS_SHOWN:] if v.state in ("live", "canary")
        ]
        replicas = repo.replicas(endpoint.id)
        experiments = ExperimentRepo(session)
        numbers = {r.id: experiments.get(r.experiment_id).number for r in replicas}
    by_id = {v.id: v.number for v in every}
    base = endpoint_out(endpoint).model_dump()
    return EndpointDetail(
        **base,
        url=f"{platform.public_url().rstrip('/')}/api/v1/endpoints/{endpoint.slug}/predict",
        key_prefix=endpoint.key_prefix,
        versions=[
            VersionOut(
                id=v.id,
                number=v.number,
                state=v.state,
                traffic=v.traffic,
                definition=v.definition,
                source=v.source,
                flow_run=v.flow_run_id,
                reason=v.reason,
                created_at=v.created_at,
                ended_at=v.ended_at,
            )
            for v in versions
        ],
        replicas=[
            ReplicaOut(
                id=r.id,
                version=by_id.get(r.version_id, 0),
                experiment=numbers[r.id],
                state=r.state,
                created_at=r.created_at,
                ready_at=r.ready_at,
            )
            for r in replicas
        ],
    )


def _changed(request: Request, platform: Platform, slug: str | None) -> None:
    """After a change: the controller acts now, and this process's gateway reads it at once
    (other server processes within the gateway's cache period)."""
    platform.engine.wake()
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is not None:
        gateway_of(request.app).invalidate(slug)


def _key_out(key: IssuedKey | None) -> EndpointKey | None:
    return None if key is None else EndpointKey(key=key.key, prefix=key.prefix, shared=key.shared)


@router.get("/endpoints", response_model=Page[EndpointSummary])
def list_endpoints(
    access: Reader,
    platform: PlatformDep,
    offset: Offset = 0,
    limit: Limit = 50,
    status: Annotated[
        list[EndpointStatus] | None,
        Query(description="Only these statuses (repeat it); the dashboard counts active ones"),
    ] = None,
) -> Page[EndpointSummary]:
    """The project's endpoints by title; endpoints are jobs, so reading takes jobs read."""
    with platform.db.read() as session:
        repo = EndpointRepo(session)
        items, total = repo.page(
            access.project.id, offset=offset, limit=limit, statuses=status or ()
        )
        summaries = [_summary(e, repo.versions(e.id), repo.replicas(e.id)) for e in items]
    return Page(items=summaries, total=total, offset=offset, limit=limit)


def _summary(
    e: Endpoint, versions: list[EndpointVersion], replicas: list[Replica]
) -> EndpointSummary:
    return EndpointSummary(
        **endpoint_out(e).model_dump(),
        url_path=f"/api/v1/endpoints/{e.slug}/predict",
        replicas_ready=sum(r.state == ReplicaState.READY for r in replicas),
        split=[
            TrafficShare(version=v.number, state=v.state, traffic=v.traffic)
            for v in sorted(versions, key=lambda v: v.number)
            if VersionState(v.state).serves
        ],
    )


@router.post("/endpoints", response_model=EndpointDeployed, status_code=201)
def deploy_endpoint(
    body: EndpointDeploy, access: Writer, platform: PlatformDep
) -> EndpointDeployed:
    """Deploy a function: a new endpoint (its key shown once), or a new version of one."""
    if body.git_branch or body.git_commit:
        given = [k for k in ("git_branch", "git_commit") if getattr(body, k)]
        raise InvalidInput(
            f"{', '.join(given)} is not supported yet when deploying outside a flow",
            where=given[0],
            hint="Deploy from the project's synced files (`hw sync`, then deploy), or from "
            "a flow whose deploy task follows the task that trained the model, or name a "
            "registered model version with model: NAME@VERSION.",
        )
    definition = {
        "file_name": body.file_name,
        "function_name": body.function_name,
        "min_replica": body.min_replica,
        "max_replica": body.max_replica,
        "config_vars": list(body.config_vars),
        "accept_files": body.accept_files,
        "computes": list(body.computes),
    }
    with platform.db.write() as session:
        versions = VersionRepo(session)
        files = versions.files_repo(access.project.id)
        commit = versions.resolve(files.id, body.commit) if body.commit else versions.head(files.id)
        if commit is None:
            raise InvalidInput(
                "the project has no files yet to deploy from",
                where="file_name",
                hint="Sync the file with the function first: `hw sync`.",
            )
        paths = {e.path for e in Tree.decode(platform.objects.read(commit.tree)).entries}
        if body.file_name not in paths:
            raise InvalidInput(
                f"file_name {body.file_name!r} is not in the project's files at {commit.id[:12]}",
                where="file_name",
                hint="Sync the file first (`hw sync`); file_name is a path from the project's "
                "root, e.g. predict.py or src/serve.py.",
            )
        model = _model_version(versions, access, body.model) if body.model else None
        if model is not None:
            definition["model"] = body.model
        done = deploys.deploy(
            session,
            access.project.id,
            body.title,
            definition,
            VersionSource(commit=commit.id, file=body.file_name, model=model),
            flow_run_id=None,
            created_by=access.user.id,
        )
        key = _key_out(done.key)
    platform.engine.wake()
    detail = _detail(platform, access.project.id, done.endpoint.id)
    return EndpointDeployed(endpoint=detail, version=done.version.number, key=key)


def _model_version(versions: VersionRepo, access: ProjectAccess, given: str) -> dict[str, str]:
    """``NAME@VERSION`` (or ``NAME``: its latest version) of the project's model registry.
    The replicas read it with their task's rights, so the deployer must be able to read it."""
    if not access.may(Permission.MODELS_READ):
        raise PermissionDenied(
            "serving a registered model needs 'read' access to models",
            where="model",
            hint="Ask the project's owner for that access.",
        )
    name, _, ref = given.partition("@")
    try:
        repo = versions.get(access.project.id, RepoKind.MODEL, name)
        commit = versions.resolve(repo.id, ref or None)
    except (NotFound, InvalidInput) as exc:
        raise InvalidInput(
            f"model {given!r}: {exc.detail}",
            where="model",
            hint="Name a registered model as NAME@VERSION (`hw model versions NAME` lists "
            "them), or NAME for its latest version.",
        ) from None
    return {"name": name, "commit": commit.id, "ref": given}


@router.get("/endpoints/{ref}", response_model=EndpointDetail)
def show_endpoint(ref: str, access: Reader, platform: PlatformDep) -> EndpointDetail:
    """One endpoint (by title or id) with its URL, versions and replicas."""
    return _detail(platform, access.project.id, ref)


@router.post("/endpoints/{ref}/scale", response_model=EndpointDetail)
def scale_endpoint(
    ref: str, request: Request, body: EndpointScale, access: Writer, platform: PlatformDep
) -> EndpointDetail:
    """New replica bounds; the autoscaler chooses within them."""
    return _change(
        request, platform, access, ref,
        lambda session, endpoint: deploys.scale(
            session, endpoint, body.min_replica, body.max_replica
        ),
    )  # fmt: skip


def _change(
    request: Request,
    platform: Platform,
    access: ProjectAccess,
    ref: str,
    change: Callable[[Session, Endpoint], object],
) -> EndpointDetail:
    """Change the endpoint in one write, tell the gateway, and show it as it is now."""
    with platform.db.write() as session:
        endpoint = EndpointRepo(session).get(access.project.id, ref)
        change(session, endpoint)
    _changed(request, platform, endpoint.slug)
    return _detail(platform, access.project.id, ref)


@router.post("/endpoints/{ref}/stop", response_model=EndpointDetail)
def stop_endpoint(
    ref: str, request: Request, access: Writer, platform: PlatformDep
) -> EndpointDetail:
    """Stop serving: its replicas stop; predict answers 503 until a start."""
    return _change(
        request, platform, access, ref,
        lambda session, endpoint: deploys.set_desired(session, endpoint, "stopped"),
    )  # fmt: skip


@router.post("/endpoints/{ref}/start", response_model=EndpointDetail)
def start_endpoint(
    ref: str, request: Request, access: Writer, platform: PlatformDep
) -> EndpointDetail:
    """Serve again after a stop (or a failure): its replicas start."""
    return _change(
        request, platform, access, ref,
        lambda session, endpoint: deploys.set_desired(session, endpoint, "running"),
    )  # fmt: skip


@router.post("/endpoints/{ref}/rollback", response_model=EndpointDetail)
def rollback_endpoint(
    ref: str,
    request: Request,
    access: Writer,
    platform: PlatformDep,
    body: EndpointRollback | None = None,
) -> EndpointDetail:
    """Back to the previous version: the newest ends rolled back, the one before serves."""
    why = f"{(body or EndpointRollback()).reason} ({access.user.username})"
    return _change(
        request, platform, access, ref,
        lambda session, endpoint: deploys.rollback(session, endpoint, why),
    )  # fmt: skip


@router.delete("/endpoints/{ref}", status_code=204)
def delete_endpoint(ref: str, request: Request, access: Writer, platform: PlatformDep) -> Response:
    """Stop the endpoint's replicas, then delete it with its versions, log and stats."""
    with platform.db.write() as session:
        repo = EndpointRepo(session)
        endpoint = repo.get(access.project.id, ref)
        replicas = repo.replicas(endpoint.id)
        repo.update(endpoint.id, desired="stopped")
    for replica in replicas:
        with platform.db.read() as session:
            experiment = ExperimentRepo(session).get(replica.experiment_id)
        if not experiment.state.terminal:
            platform.engine.stop(experiment)
    with platform.db.write() as session:
        EndpointRepo(session).delete(endpoint.id)
    _changed(request, platform, endpoint.slug)
    return Response(status_code=204)


@router.post("/endpoints/{ref}/key/rotate", response_model=EndpointKey)
def rotate_endpoint_key(
    ref: str, request: Request, access: Writer, platform: PlatformDep
) -> EndpointKey:
    """A new key, shown once; the old one stops working at once."""
    with platform.db.write() as session:
        endpoint = EndpointRepo(session).get(access.project.id, ref)
        key = deploys.rotate_key(session, endpoint)
    # the project's single key is every one of its endpoints' key
    _changed(request, platform, None if key.shared else endpoint.slug)
    out = _key_out(key)
    assert out is not None
    return out


@router.get("/endpoints/{ref}/logs", response_model=EndpointLogsOut)
def endpoint_logs(
    ref: str,
    access: Reader,
    platform: PlatformDep,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> EndpointLogsOut:
    """The replicas' logs (their tasks' logs) in time order, after ``since``."""
    with platform.db.read() as session:
        endpoint = EndpointRepo(session).get(access.project.id, ref)
        replicas = EndpointRepo(session).replicas(endpoint.id, live_only=False)[-LOG_REPLICAS:]
        experiments = ExperimentRepo(session)
        numbers = {r.experiment_id: experiments.get(r.experiment_id).number for r in replicas}
        rows = experiments.logs_of(list(numbers), since=since, limit=limit)
    chunks = [
        EndpointLogChunk(
            experiment=numbers[r.experiment_id], seq=r.seq, stream=r.stream, text=r.text, at=r.at
        )
        for r in rows
    ]
    return EndpointLogsOut(chunks=chunks, next_since=chunks[-1].at if chunks else since)


@router.post("/experiments/{ref}/serving", status_code=204)
def report_serving(
    ref: str, request: Request, body: ServingAddress, access: OwnTask, platform: PlatformDep
) -> Response:
    """A replica's task says where it listens, once its function has loaded (task token)."""
    with platform.db.write() as session:
        experiment = ExperimentRepo(session).find(access.project.id, ref)
        repo = EndpointRepo(session)
        replica = repo.replica_of_task(experiment.id)
        if replica is None and experiment.options.get("workspace"):
            address = check_address(body.address, known_task_folder(platform, experiment.id))
            WorkspaceRepo(session).ready(experiment.id, address)  # a workspace's JupyterLab
            return Response(status_code=204)
        if replica is None:
            raise Conflict(
                f"experiment {experiment.number} is not an endpoint replica",
                where="experiment",
                hint="Only a replica's task reports a serving address.",
            )
        served = experiment.runner.get("serve_url")
        if served:  # a Ray Serve replica: reached through Serve's proxy, at the address the
            address = str(served)  # executor recorded (never one the task names)
        else:
            address = check_address(body.address, known_task_folder(platform, experiment.id))
        if not can_move(ReplicaState(replica.state), ReplicaState.READY):
            return Response(status_code=204)  # stopping or gone meanwhile: not routed to
        repo.update_replica(
            replica.id, state=ReplicaState.READY.value, address=address, ready_at=datetime.now(UTC)
        )
        slug = repo.get(access.project.id, replica.endpoint_id).slug
    _changed(request, platform, slug)  # routed to at once, from this server process
    return Response(status_code=204)


def check_address(address: str, workdir: str) -> str:
    """A Unix socket inside the task's own folder, and a socket, not a link: a task must not
    point the gateway at another process's socket (the worker's, another replica's)."""
    scheme, _, path = address.partition(":")
    pure = PurePosixPath(path)
    inside = bool(workdir) and pure.is_absolute() and ".." not in pure.parts
    inside = inside and pure.is_relative_to(PurePosixPath(workdir))
    if scheme != "unix" or not inside:
        raise InvalidInput(
            f"address {address!r} is not a Unix socket in the task's folder",
            where="address",
            hint=f"Listen on unix:{workdir or '<the task folder>'}/<name>.sock.",
        )
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = 0
    if not stat.S_ISSOCK(mode):
        raise InvalidInput(
            f"{path} is not a listening Unix socket",
            where="address",
            hint="Report the address once the replica listens on it.",
        )
    return address

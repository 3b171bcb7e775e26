"""Deploying an endpoint (issue 13), for the management API and a flow's deploy task alike:
the endpoint (new, or its new definition), a new version with its source, and its key.

A deploy records; it starts nothing. The serving controller (``serving.py``) sees the pending
version on its next tick, starts its replicas and moves traffic to it (all of it for an
endpoint's first version, a canary for the next).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from headwater.db.repos.endpoints import EndpointRepo
from headwater.db.repos.settings import SettingsRepo
from headwater.domain.endpoint_records import Endpoint, EndpointVersion
from headwater.domain.endpoints import (
    EndpointStatus,
    ReplicaState,
    VersionState,
    check_replicas,
    check_title,
    key_hash,
    new_key,
    parse_config_vars,
)
from headwater.domain.errors import Conflict

_MAY_SERVE = (VersionState.LIVE.value, VersionState.RETIRED.value, VersionState.CANARY.value)
KEY_SHOWN = 12  # characters of a key kept to tell keys apart ("hwe_" and 8 more)


@dataclass(frozen=True)
class IssuedKey:
    """A key in the clear, handed out once; only its hash is stored."""

    key: str
    prefix: str
    shared: bool  # the project's single deploy key


@dataclass(frozen=True)
class Deployed:
    endpoint: Endpoint
    version: EndpointVersion
    new: bool
    key: IssuedKey | None  # a new endpoint's key (or the project's, made now), shown once


@dataclass(frozen=True)
class VersionSource:
    """What a version serves: ``commit`` of the project's files checked out as its folder,
    ``file`` (the function's file, a path in that folder), and parents' outputs mounted at
    ``input/<name>/`` (``inputs``: ``{"name", "experiment"}`` as a flow task's)."""

    commit: str | None
    file: str
    inputs: tuple[dict[str, str], ...] = ()
    passed: tuple[str, ...] = ()
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "file": self.file,
            "inputs": [dict(i) for i in self.inputs],
            "passed": list(self.passed),
            "model": self.model,
        }


def deploy(
    session: Session,
    project_id: str,
    title: str,
    definition: dict[str, Any],
    source: VersionSource,
    *,
    flow_run_id: str | None,
    created_by: str | None,
    where: str = "",
) -> Deployed:
    """Record the endpoint ``title`` (new, or its new definition) and a new pending version.

    ``definition`` holds the deploy keys (file_name, function_name, min_replica, max_replica,
    config_vars, accept_files, computes...); they are checked here, each error naming
    ``where`` + the key (a flow's ``tasks.<title>``)."""
    prefix = f"{where}." if where else ""
    check_title(title, where=f"{prefix}endpoint_title" if where else "title")
    low, high = check_replicas(
        int(definition.get("min_replica", 1)), int(definition.get("max_replica", 1)), where=where
    )
    parse_config_vars(definition.get("config_vars", []), where=f"{prefix}config_vars")
    repo = EndpointRepo(session)
    endpoint, new = repo.define(
        project_id,
        title,
        definition,
        flow_run_id=flow_run_id,
        created_by=created_by,
        min_replicas=low,
        max_replicas=high,
    )
    key = issue_first_key(session, endpoint) if new else None
    version = repo.add_version(
        endpoint.id,
        definition=definition,
        source=source.to_dict(),
        flow_run_id=flow_run_id,
        created_by=created_by,
    )
    # a deploy means "serve this": a stopped endpoint starts again with the new version
    status = EndpointStatus.DEPLOYING if endpoint.status != "deploying" else None
    changes: dict[str, Any] = {"desired": "running"}
    if status is not None:
        changes["status"] = status.value
    repo.update(endpoint.id, **changes)
    return Deployed(repo.get(project_id, endpoint.id), version, new, key)


def issue_first_key(session: Session, endpoint: Endpoint) -> IssuedKey | None:
    """A new endpoint's key: its own, or the project's single key when the project's setting
    ``single_deploy_api_key`` is on (made on the first deploy that needs it; None after:
    the project's key was shown when it was made)."""
    repo = EndpointRepo(session)
    if SettingsRepo(session).get(endpoint.project_id).single_deploy_api_key:
        if repo.project_key(endpoint.project_id) is not None:
            return None
        key = new_key()
        repo.set_project_key(endpoint.project_id, key_hash(key), key[:KEY_SHOWN])
        return IssuedKey(key, key[:KEY_SHOWN], shared=True)
    return rotate_key(session, endpoint)


def rotate_key(session: Session, endpoint: Endpoint) -> IssuedKey:
    """A new key for the endpoint (the project's single key when the setting is on); the old
    one stops working with this transaction: the gateway compares hashes from the database."""
    repo = EndpointRepo(session)
    key = new_key()
    if SettingsRepo(session).get(endpoint.project_id).single_deploy_api_key:
        repo.set_project_key(endpoint.project_id, key_hash(key), key[:KEY_SHOWN])
        return IssuedKey(key, key[:KEY_SHOWN], shared=True)
    repo.update(endpoint.id, key_hash=key_hash(key), key_prefix=key[:KEY_SHOWN])
    return IssuedKey(key, key[:KEY_SHOWN], shared=False)


def scale(session: Session, endpoint: Endpoint, low: int, high: int) -> None:
    """New bounds; the autoscaler's choice is brought inside them at once."""
    check_replicas(low, high)
    wanted = min(max(endpoint.replicas_wanted, low), high)
    EndpointRepo(session).update(
        endpoint.id, min_replicas=low, max_replicas=high, replicas_wanted=wanted
    )


def set_desired(session: Session, endpoint: Endpoint, desired: str) -> None:
    """``running`` or ``stopped``: the controller starts or stops the replicas."""
    changes: dict[str, Any] = {"desired": desired}
    if desired == "stopped":
        changes["status"] = EndpointStatus.STOPPED.value
    elif endpoint.status in (EndpointStatus.STOPPED.value, EndpointStatus.FAILED.value):
        changes["status"] = EndpointStatus.DEPLOYING.value
    EndpointRepo(session).update(endpoint.id, **changes)


def rollback(session: Session, endpoint: Endpoint, reason: str) -> EndpointVersion:
    """Back to the previous version: the newest serving version ends rolled back and the one
    before it (live, or retired) takes all the traffic."""
    repo = EndpointRepo(session)
    versions = repo.versions(endpoint.id)  # newest first
    serving = [v for v in versions if v.state in ("canary", "live", "pending")]
    if not serving:
        raise Conflict(
            f"endpoint {endpoint.title!r} serves no version to roll back",
            where="endpoint",
            hint="`hw endpoint show` lists its versions.",
        )
    current = serving[0]
    # the newest earlier version that served (a version retired while still pending never
    # did); when none has served yet, the newest earlier one still pending
    before = [v for v in versions if v.number < current.number]
    served = [v for v in before if v.stepped_at is not None and v.state in _MAY_SERVE]
    earlier = served or [v for v in before if v.state == VersionState.PENDING.value]
    if not earlier:
        raise Conflict(
            f"version {current.number} of {endpoint.title!r} has no earlier version to go back to",
            where="endpoint",
            hint="Deploy a fixed version instead, or stop the endpoint.",
        )
    target = earlier[0]
    now = datetime.now(UTC)
    repo.update_version(
        current.id,
        state=VersionState.ROLLED_BACK.value,
        traffic=0,
        reason=reason,
        ended_at=now,
    )
    repo.update_version(target.id, state=VersionState.LIVE.value, traffic=100, stepped_at=now)
    for other in serving[1:]:
        if other.id != target.id:
            repo.update_version(other.id, state=VersionState.RETIRED.value, traffic=0)
    for replica in repo.replicas(endpoint.id):
        if replica.version_id == current.id and replica.state != ReplicaState.STOPPING.value:
            repo.update_replica(replica.id, state=ReplicaState.STOPPING.value)
    return target

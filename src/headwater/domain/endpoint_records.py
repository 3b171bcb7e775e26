"""What the database hands back about endpoints (issue 13): the endpoint, its versions, its
replicas, sampled requests and traffic buckets, as frozen records. The rules that move them
(states, traffic split, autoscaling, rollouts) live in their own modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    """An endpoint: ``title`` in its project (the deploy task's ``endpoint_title``), ``slug``
    on the server (its URL, ``/api/v1/endpoints/<slug>/predict``)."""

    id: str
    project_id: str
    title: str
    slug: str
    status: str
    definition: dict[str, Any]  # the latest deploy task's keys, as recorded
    flow_run_id: str | None
    flow_run_number: int | None  # the bake that last defined it
    min_replicas: int
    max_replicas: int
    replicas_wanted: int
    desired: str  # running | stopped
    key_prefix: str | None
    options: dict[str, Any]
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    scaled_at: datetime | None


@dataclass(frozen=True)
class EndpointVersion:
    """One deployment: the code and model it serves (``source``) and its share of traffic."""

    id: str
    endpoint_id: str
    number: int
    state: str
    traffic: int  # percent
    definition: dict[str, Any]
    source: dict[str, Any]  # start_commit, inputs (parents' outputs), git, model
    flow_run_id: str | None
    reason: str | None
    created_by: str | None
    created_at: datetime
    stepped_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class Replica:
    """A long-lived task serving one version; ``address`` once it listens."""

    id: str
    endpoint_id: str
    version_id: str
    experiment_id: str
    state: str
    address: str | None
    created_at: datetime
    ready_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class LoggedRequest:
    """A sampled request, input and output truncated."""

    id: int
    endpoint_id: str
    version_id: str | None
    request_id: str
    at: datetime
    latency_ms: float
    status: int
    input: str
    output: str


@dataclass(frozen=True)
class TrafficBucket:
    """Traffic of one version in one bucket, summed over the server processes that counted."""

    endpoint_id: str
    version_id: str
    bucket: datetime
    requests: int
    errors: int
    inflight_peak: int
    latency: list[int]  # a domain/latency.py histogram's counts

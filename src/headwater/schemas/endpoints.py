"""Endpoints (issue 13) over HTTP: deploying, reading, scaling and watching what serves.

The predict calls themselves (``/api/v1/endpoints/<slug>/predict``) take any JSON with
``input_params`` and are not described by these models: the gateway forwards bytes."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from headwater.schemas.common import Model, Schema

MAX_REPLICAS = 64


class EndpointDeploy(Model):
    """Deploy outside a flow (``hw endpoint deploy``): a new endpoint, or, when ``title`` names
    one the project has, a new version of it rolled out as a canary."""

    title: str = Field(
        min_length=1,
        max_length=100,
        description="Letters, digits and hyphens (seed 002); also the URL's name when free",
    )
    file_name: str = Field(min_length=1, max_length=255, description="The file with the function")
    function_name: str = Field(min_length=1, max_length=200)
    min_replica: int = Field(1, ge=1, le=MAX_REPLICAS)
    max_replica: int = Field(1, ge=1, le=MAX_REPLICAS)
    config_vars: list[str] = Field(
        default_factory=list, max_length=100, description="KEY=VALUE, in the function's env"
    )
    accept_files: bool = Field(False, description="input_params carries base64 file content")
    commit: str | None = Field(
        None, max_length=64, description="A version of the project's files; default: head"
    )
    git_branch: str | None = Field(None, max_length=255)
    git_commit: str | None = Field(None, max_length=64)
    model: str | None = Field(
        None,
        max_length=300,
        description="NAME@VERSION of a registered model, mounted at model/ for the function",
    )
    computes: list[str] = Field(default_factory=list, max_length=20)


class EndpointScale(Model):
    min_replica: int = Field(ge=1, le=MAX_REPLICAS)
    max_replica: int = Field(ge=1, le=MAX_REPLICAS)


class EndpointRollback(Model):
    reason: str = Field("rolled back by a user", max_length=500, description="Kept on the version")


class ServingAddress(Model):
    """What a replica's task reports once it serves (its own task token)."""

    address: str = Field(min_length=6, max_length=500, description="unix:/abs/path.sock")


class VersionOut(Schema):
    id: str
    number: int
    state: str = Field(description="pending, canary, live, retired, rolled_back or failed")
    traffic: int = Field(description="Percent of requests it answers")
    definition: dict[str, object]
    source: dict[str, object] = Field(description="Files commit, parents' outputs, git, model")
    flow_run: str | None = None
    reason: str | None = Field(None, description="Why it failed or was rolled back")
    created_at: datetime
    ended_at: datetime | None = None


class ReplicaOut(Schema):
    id: str
    version: int
    experiment: int = Field(description="The replica's task: `hw logs N` shows its log")
    state: str = Field(description="starting, ready, stopping or gone")
    created_at: datetime
    ready_at: datetime | None = None


class EndpointOut(Schema):
    """An endpoint: ``title`` in its project, ``slug`` in its URL
    (``/api/v1/endpoints/<slug>/predict``)."""

    id: str
    title: str
    slug: str
    status: str
    desired: str = Field(description="running or stopped: what the owner asked for")
    min_replicas: int
    max_replicas: int
    replicas_wanted: int = Field(description="What the autoscaler chose within the bounds")
    definition: dict[str, object] = Field(description="The deploy task's fields as recorded")
    flow_run: int | None = Field(None, description="The bake that last defined it")
    created_at: datetime
    updated_at: datetime


class EndpointDetail(EndpointOut):
    """One endpoint with what `hw endpoint show` and the Endpoints page display."""

    url: str = Field(description="Where to POST predictions")
    key_prefix: str | None = Field(None, description="The start of the key in use")
    versions: list[VersionOut]
    replicas: list[ReplicaOut]


class EndpointKey(Schema):
    """A key, shown once: send it as ``Authorization: Bearer KEY``."""

    key: str
    prefix: str
    shared: bool = Field(description="The project's single deploy key (setting on)")


class EndpointDeployed(Schema):
    endpoint: EndpointDetail
    version: int
    key: EndpointKey | None = Field(None, description="A new endpoint's key, shown once")


class RequestOut(Schema):
    """A sampled request: input and output truncated to the logged-body limit."""

    id: int
    request_id: str
    version: int | None
    at: datetime
    latency_ms: float
    status: int
    input: str
    output: str


class TrafficPoint(Schema):
    """One time bucket of one version: what the live charts draw."""

    at: datetime
    version: int
    requests: int
    errors: int
    rate: float = Field(description="Requests per second over the bucket")
    p50_ms: float | None
    p99_ms: float | None
    inflight_peak: int


class TrafficOut(Schema):
    bucket_seconds: int
    points: list[TrafficPoint]


class EndpointLogChunk(Schema):
    """A piece of a replica's log (its task's log: `hw logs EXPERIMENT` shows it whole)."""

    experiment: int
    seq: int
    stream: str
    text: str
    at: datetime


class EndpointLogsOut(Schema):
    chunks: list[EndpointLogChunk]
    next_since: datetime | None = Field(
        None, description="Ask with since= this to follow (None: nothing logged yet)"
    )


class TrafficShare(Schema):
    """A version that serves (canary or live) and its share of the requests."""

    version: int
    state: str
    traffic: int = Field(description="Percent of requests it answers")


class EndpointSummary(EndpointOut):
    """A row of the endpoint list: what the Endpoints page shows without opening each one."""

    url_path: str = Field(description="The predict path under the server's address")
    replicas_ready: int = Field(description="Replicas the gateway routes to")
    split: list[TrafficShare] = Field(description="The serving versions, oldest first")

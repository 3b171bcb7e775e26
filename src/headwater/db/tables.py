"""SQLAlchemy tables. Every change here needs an Alembic migration (tests check they agree)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from headwater.domain.access import AccessLevel
from headwater.domain.entities import ActivityKind
from headwater.domain.flowruns import RunState, TaskState
from headwater.domain.jobs import JobState
from headwater.domain.versions import RepoKind

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


def _enum(enum: type[StrEnum], name: str, length: int) -> Enum:
    return Enum(
        enum,
        native_enum=False,
        create_constraint=True,
        name=name,
        values_callable=lambda e: [m.value for m in e],
        length=length,
    )


def _level(name: str) -> Mapped[AccessLevel]:
    return mapped_column(_enum(AccessLevel, f"access_{name}", 8), default=AccessLevel.READ)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TokenRow(Base):
    """A credential: ``api`` (until revoked), ``session`` (a password login, with an expiry) or
    ``task`` (bound to one experiment, ended with it). ``id`` names it in listings and
    revocations; the secret itself is stored only as its sha256."""

    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(16), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="api")
    experiment_id: Mapped[str | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()


class ProjectRow(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="owner_name"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    personal: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberRow(Base):
    __tablename__ = "members"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    files: Mapped[AccessLevel] = _level("files")
    jobs: Mapped[AccessLevel] = _level("jobs")
    datasets: Mapped[AccessLevel] = _level("datasets")
    models: Mapped[AccessLevel] = _level("models")
    manage: Mapped[bool] = mapped_column(Boolean, default=False)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActivityRow(Base):
    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[ActivityKind] = mapped_column(_enum(ActivityKind, "activity_kind", 32))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SecretRow(Base):
    __tablename__ = "secrets"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # only tasks started by the project's owner or an admin receive it
    owner_only: Mapped[bool] = mapped_column(default=False, server_default=false())


class ThirdPartyKeyRow(Base):
    __tablename__ = "third_party_keys"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    type: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(1024))
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookRow(Base):
    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RepoRow(Base):
    """A versioned tree: a project's files, a dataset or a model."""

    __tablename__ = "repos"
    __table_args__ = (UniqueConstraint("project_id", "kind", "name", name="project_kind_name"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[RepoKind] = mapped_column(_enum(RepoKind, "repo_kind", 16))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommitRow(Base):
    __tablename__ = "commits"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    repo_id: Mapped[str] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)
    tree: Mapped[str] = mapped_column(String(64))
    parents: Mapped[list[str]] = mapped_column(JSON, default=list)
    author: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    files: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(BigInteger, default=0)


class BranchRow(Base):
    __tablename__ = "branches"

    repo_id: Mapped[str] = mapped_column(
        ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    commit_id: Mapped[str] = mapped_column(ForeignKey("commits.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RepoObjectRow(Base):
    """Which blobs a repository's commits reference: scopes downloads and drives gc."""

    __tablename__ = "repo_objects"

    repo_id: Mapped[str] = mapped_column(
        ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True
    )
    hash: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class RepoUploadRow(Base):
    """Which blobs were uploaded into a repository (content hashed on arrival), so a commit
    there may name them before any commit references them."""

    __tablename__ = "repo_uploads"

    repo_id: Mapped[str] = mapped_column(
        ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True
    )
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelSourceRow(Base):
    """Where a model version came from: the experiment whose outputs it registers, with the
    parameters and final metrics it had then (a snapshot: the version outlives the experiment)."""

    __tablename__ = "model_sources"

    commit_id: Mapped[str] = mapped_column(
        ForeignKey("commits.id", ondelete="CASCADE"), primary_key=True
    )
    experiment_id: Mapped[str] = mapped_column(String(16), index=True)
    experiment_number: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetQueryRow(Base):
    """A saved selection of a dataset's files (seed 004), resolved against a commit."""

    __tablename__ = "dataset_queries"

    repo_id: Mapped[str] = mapped_column(
        ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    query: Mapped[str] = mapped_column(Text)
    filter: Mapped[str] = mapped_column(Text)
    commit_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExperimentRow(Base):
    """One run of a command; the runtime reports its progress through the API."""

    __tablename__ = "experiments"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="project_number"),
        Index("ix_experiments_state_created", "state", "created_at"),
        # the queue's order, read a page at a time (a grid's experiments share created_at)
        Index("ix_experiments_queue", "state", "created_at", "number", "id"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255), default="")
    command: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[JobState] = mapped_column(_enum(JobState, "job_state", 16))
    reason: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    computes: Mapped[list[str]] = mapped_column(JSON, default=list)
    compute: Mapped[str | None] = mapped_column(String(64))
    resources: Mapped[dict[str, Any]] = mapped_column(default=dict)
    start_commit: Mapped[str | None] = mapped_column(String(64))
    output_commit: Mapped[str | None] = mapped_column(String(64))
    output_dir: Mapped[str] = mapped_column(String(255), default="output")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    task_token_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    last_output_at: Mapped[datetime | None] = mapped_column()
    runner: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LogChunkRow(Base):
    """Output as the runtime sent it: numbered chunks, so a resend is never stored twice."""

    __tablename__ = "log_chunks"

    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricChunkRow(Base):
    """A batch of one metric's points, as packed arrays: a training loop logs hundreds of
    thousands, and one row per point would make the database the bottleneck."""

    __tablename__ = "metric_chunks"
    __table_args__ = (
        Index("ix_metric_chunks_experiment_key", "experiment_id", "key", "id"),
        # a batch the sender resent (its answer was lost) is stored once
        Index("ux_metric_chunks_batch", "experiment_id", "batch", "key", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    count: Mapped[int] = mapped_column(Integer)
    max_step: Mapped[int] = mapped_column(BigInteger)
    steps: Mapped[bytes] = mapped_column(LargeBinary)  # int64, native order (array "q")
    values: Mapped[bytes] = mapped_column(LargeBinary)  # float64 (array "d")
    times: Mapped[bytes] = mapped_column(LargeBinary)  # float64 seconds since the epoch
    batch: Mapped[str | None] = mapped_column(String(64), default=None)  # the sender's id


class ExperimentValueRow(Base):
    """Parameters (``log_param``), tags (``hw_tag_`` lines) and models to register: the last
    value wins. Kind ``run`` repeats the parameters the experiment was started with
    (``experiments.params``), so one table answers the experiments table's param columns."""

    __tablename__ = "experiment_values"

    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    # the value as a number when it reads as one: the experiments table filters and sorts on
    # it in SQL (``lr > 0.1``) without a cast that PostgreSQL would refuse for "adam"
    number: Mapped[float | None] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ExperimentKeyRow(Base):
    """Every param, tag and metric key a project's experiments have had (``param``, ``tag``,
    ``metric``), added as they are written: the filter's names and the table's column chooser
    read this small table, not the values of every run. A key outlives the experiments that
    had it (a filter on it then matches nothing)."""

    __tablename__ = "experiment_keys"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)


class MetricSummaryRow(Base):
    """Each metric's latest, lowest and highest value per experiment, kept as points arrive:
    the experiments table sorts and filters thousands of runs on them in SQL, which the packed
    chunks cannot answer."""

    __tablename__ = "metric_summaries"

    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    latest: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)


class ComputeTemplateRow(Base):
    __tablename__ = "compute_templates"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    cpus: Mapped[float] = mapped_column(Float)
    memory_mb: Mapped[int] = mapped_column(Integer)
    gpus: Mapped[int] = mapped_column(Integer, default=0)
    # Ray's custom resources by name (e.g. {"accelerator_type:A100": 1}); {} for none
    custom_resources: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryRow(Base):
    """The delivery log of notifications: email, Slack and webhooks."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    experiment_id: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2048))
    event: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean)
    attempts: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class FlowRow(Base):
    """A flow by its ``flow:`` title; its files are its versions."""

    __tablename__ = "flows"
    __table_args__ = (UniqueConstraint("project_id", "name", name="project_flow_name"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # what the schedule already ran: {"once": "<schedule>", "rule", "since", "tick": "<iso>"}
    schedule_state: Mapped[dict[str, Any]] = mapped_column(default=dict)


class FlowVersionRow(Base):
    __tablename__ = "flow_versions"

    flow_id: Mapped[str] = mapped_column(
        ForeignKey("flows.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    yaml: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    tasks: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlowRunRow(Base):
    """One run of a flow version (a "bake"), numbered within the project."""

    __tablename__ = "flow_runs"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="project_run_number"),
        Index("ix_flow_runs_state", "state"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[RunState] = mapped_column(_enum(RunState, "run_state", 16))
    trigger: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    only: Mapped[str | None] = mapped_column(String(200))
    restart_of: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    # the run's step-cache choices: {"off": true, "refresh": [titles], "reuse_run": run id}
    cache: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class FlowTaskRow(Base):
    __tablename__ = "flow_tasks"

    run_id: Mapped[str] = mapped_column(
        ForeignKey("flow_runs.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[TaskState] = mapped_column(_enum(TaskState, "flow_task_state", 16))
    reason: Mapped[str | None] = mapped_column(Text)
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_comment: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlowInstanceRow(Base):
    """One instance of a task in a run; exec instances are experiments (a restarted run
    shares the experiments it kept with the run it came from)."""

    __tablename__ = "flow_instances"
    # a task's instances: paged by the API, probed by the flow pass ("any still going?")
    __table_args__ = (Index("ix_flow_instances_run_task", "run_id", "task", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("flow_runs.id", ondelete="CASCADE"), index=True)
    task: Mapped[str] = mapped_column(String(200))
    experiment_id: Mapped[str | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[JobState] = mapped_column(_enum(JobState, "flow_instance_state", 16))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parents: Mapped[list[str]] = mapped_column(JSON, default=list)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()


class StepCacheRow(Base):
    """A result the step cache may serve: an exec instance launched under ``key`` (its
    experiment's state and end say whether and until when it serves; ``parts`` say what a
    later miss compares against)."""

    __tablename__ = "step_cache"
    __table_args__ = (Index("ix_step_cache_lookup", "flow_id", "task", "key"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"))
    task: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(64))
    parts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_id: Mapped[str] = mapped_column(ForeignKey("flow_runs.id", ondelete="CASCADE"), index=True)
    instance_id: Mapped[str] = mapped_column(String(16))
    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlowTriggerRow(Base):
    __tablename__ = "flow_triggers"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    dataset: Mapped[str | None] = mapped_column(String(100))
    seen_commit: Mapped[str | None] = mapped_column(String(64))
    token_hash: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_fired_at: Mapped[datetime | None] = mapped_column()


# The serving tables live in a module of their own (this one is past its size); importing it here
# keeps Base.metadata whole wherever the tables are used (the ORM, Alembic, the migration tests).
from headwater.db import serving_tables as serving_tables  # noqa: E402
from headwater.db import workspace_tables as workspace_tables  # noqa: E402

"""Experiments over HTTP: what users send and see, and what the task runtime reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from headwater.domain.compute import MAX_CUSTOM
from headwater.domain.jobs import JobState
from headwater.schemas.common import Model, Schema

MAX_RUNS = 10_000
MAX_BATCH = 20_000


def _one_run() -> list[dict[str, str]]:
    return [{}]


class ExperimentOptions(Model):
    """The seed's custom task fields; unset ones come from the project's settings."""

    requirements: bool = Field(True, description="Install requirements.txt when present")
    prerun: bool = Field(True, description="Run prerun.sh when present")
    restart_if_stuck: bool = False
    notify_on_error: bool | None = None
    notify_on_success: bool | None = None
    emails: list[str] = Field(default_factory=list, max_length=50)
    periodic_sync: bool | None = None
    datasets: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Mounted in data/NAME/: NAME (latest when the task starts), NAME@COMMIT, "
        "NAME:QUERY (a saved query's files)",
    )
    cpus: float | None = Field(None, gt=0, description="Resources when no template is named")
    memory_mb: int | None = Field(None, gt=0)
    gpus: int | None = Field(None, ge=0)


class ExperimentCreate(Model):
    command: str = Field(min_length=1, max_length=10_000)
    runs: list[dict[str, str]] = Field(
        default_factory=_one_run,
        min_length=1,
        max_length=MAX_RUNS,
        description="One experiment per entry: its parameters (a grid's combinations)",
    )
    title: str = Field("", max_length=200)
    computes: list[str] = Field(default_factory=list, max_length=20)
    commit: str | None = Field(None, max_length=64, description="Files commit; default: head")
    git_branch: str | None = Field(
        None, max_length=255, description="Branch of the linked Git repository; default: its own"
    )
    git_commit: str | None = Field(
        None, max_length=64, description="Commit of the linked Git repository; default: the tip"
    )
    output_dir: str | None = Field(None, max_length=255)
    options: ExperimentOptions = Field(default_factory=ExperimentOptions)


class MetricSummaryOut(Schema):
    """A metric's last logged, lowest and highest value."""

    latest: float
    min: float
    max: float


class ExperimentColumnsOut(Schema):
    """The keys a project's experiments have: what the experiments table can show, filter and
    sort by (``params.KEY``, ``tags.KEY``, ``metrics.KEY[.min|.max]``)."""

    params: list[str]
    tags: list[str]
    metrics: list[str]


class ExperimentOut(Schema):
    id: str
    project_id: str
    number: int
    title: str
    command: str
    params: dict[str, str]
    state: JobState
    reason: str | None
    exit_code: int | None
    computes: list[str]
    compute: str | None
    start_commit: str | None
    output_commit: str | None
    branch: str
    output_dir: str
    restarts: int
    created_by: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    tags: dict[str, str] = Field(default_factory=dict)
    logged_params: dict[str, str] = Field(default_factory=dict)
    latest_metrics: dict[str, float] = Field(default_factory=dict)
    # in listings: each metric's latest, lowest and highest value (the table's metric columns)
    metrics: dict[str, MetricSummaryOut] = Field(default_factory=dict)


class LogChunk(Model):
    seq: int = Field(ge=0)
    stream: Literal["stdout", "stderr", "system"]
    text: str = Field(max_length=4 * 1024 * 1024)


class LogBatch(Model):
    chunks: list[LogChunk] = Field(max_length=10_000)
    tags: dict[str, str] = Field(default_factory=dict, description="hw_tag_ lines seen")


class LogChunkOut(Schema):
    seq: int
    stream: str
    text: str
    at: datetime


class LogsOut(Schema):
    chunks: list[LogChunkOut]
    next_seq: int = Field(description="Ask for seq >= this to follow")
    state: JobState


MetricPoint = tuple[str, int | None, float, float | None]


class MetricBatch(Model):
    """Points as ``[key, step, value, time]``: compact, because training loops log many."""

    points: list[MetricPoint] = Field(max_length=MAX_BATCH)
    batch: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The sender's id for this batch: a batch resent with the same id (a retry "
        "after a lost answer) is stored once",
    )


class MetricSeries(Schema):
    key: str
    steps: list[int]
    values: list[float]
    times: list[float]


class ValuesIn(Model):
    # "model": the SDK's log_model, model name -> the output path to register (model_registry)
    kind: Literal["param", "tag", "model"]
    values: dict[str, str] = Field(max_length=1000)


class StateReport(Model):
    """What the runtime says happened; the transition table decides if it may."""

    state: JobState
    reason: str | None = Field(None, max_length=10_000)
    exit_code: int | None = None
    output_commit: str | None = Field(None, max_length=64)
    runner: dict[str, Any] | None = None
    logs: LogBatch | None = Field(None, description="The task's last output, stored first")
    running_for: float | None = Field(
        None,
        ge=0,
        le=366 * 24 * 3600.0,
        description="Seconds the command has run (by the runtime's clock, so clocks need not "
        "agree): with state running it dates the start; with an end state, the command started "
        "and ended before the runtime said running, and the server records running first",
    )


class OutputCommit(Model):
    commit: str = Field(max_length=64)


class DatasetMount(Schema):
    name: str
    commit: str
    filter: str | None = Field(None, description="A dataset query's filter: only these files")


class InputMount(Schema):
    """A parent task's artifacts: its ``output_dir`` at ``commit`` goes to ``input/<name>/``."""

    name: str
    repo: str
    commit: str | None = Field(None, description="None: the parent left no artifacts")
    output_dir: str = "output"


class ModelMount(Schema):
    """A registered model's version, checked out at ``model/`` (an endpoint's ``model``)."""

    name: str
    commit: str


class GitCheckout(Schema):
    """The linked Git repository a task clones instead of the project's files."""

    repo: str
    branch: str
    commit: str | None = Field(None, description="None: the tip of the branch")
    private: bool = False
    key: str | None = Field(
        None, repr=False, description="The project's git key (an SSH private key), if private"
    )


class TaskSpec(Schema):
    """Everything the runtime needs to build the workspace and run the command."""

    experiment: ExperimentOut
    project_name: str
    command: str  # with the parameters appended
    env: dict[str, str]
    files_commit: str | None
    datasets: list[DatasetMount]
    inputs: list[InputMount]
    requirements: bool
    prerun: bool
    output_dir: str
    sync_seconds: float | None
    working_dir: str
    live_logs: dict[str, str] = Field(
        default_factory=dict,
        description="A TensorBoard's running experiments: number to '<experiment id>/<output "
        "dir>', found among this worker's task folders (bound read-only)",
    )
    passed_condition: list[str] = Field(
        default_factory=list, description="Input folders of the parents that passed a condition"
    )
    cnvrg_env: bool = Field(
        True, description="Set CNVRG_TASKS_PASSED_CONDITION too (the project's cnvrg_env)"
    )
    git: GitCheckout | None = Field(None, description="Clone this instead of files_commit")
    secret_keys: list[str] = Field(
        default_factory=list, description="Keys of env that hold secrets: masked in the logs"
    )
    model: ModelMount | None = Field(None, description="A model version to put at model/")
    replica: bool = Field(
        False,
        description="An endpoint replica: it reports its socket once serving, commits no "
        "outputs, and stopping by itself is a failure",
    )
    log_seq: int = Field(
        0,
        ge=0,
        description="The first sequence number of this attempt's log: past what earlier "
        "attempts (before a restart) stored, which the server would otherwise ignore as resent",
    )


class ComputeTemplateIn(Model):
    name: str = Field(min_length=1, max_length=64)
    cpus: float = Field(gt=0)
    memory_mb: int = Field(gt=0)
    gpus: int = Field(0, ge=0)
    custom_resources: dict[str, float] = Field(
        default_factory=dict,
        max_length=MAX_CUSTOM,
        description="Custom resources by name as the Ray nodes advertise them (e.g. "
        '{"accelerator_type:A100": 1}): the task runs only on a node that has them',
    )
    owned: bool = Field(False, description="Owned by you, not shared with the whole server")


class ComputeTemplateOut(Schema):
    name: str
    cpus: float
    memory_mb: int
    gpus: int
    custom_resources: dict[str, float] = Field(
        default_factory=dict, description="Custom resources by name ({} for none)"
    )
    owner: str | None


class ResourcesOut(Schema):
    cpus: float
    memory_mb: int
    gpus: int


class MonitorScope(Schema):
    active_jobs: int
    pending_jobs: int
    assigned: ResourcesOut


class MonitorOut(Schema):
    """Seed 004's dashboard: jobs, and compute and storage assigned against the total."""

    overall: MonitorScope
    total: ResourcesOut
    storage_used_bytes: int
    storage_total_bytes: int
    projects: dict[str, MonitorScope]

"""The flow file as frozen models: keys exactly as seed 002's tables spell them.

Models hold what the file says (before defaults of the project or the server apply), so a
flow exported with ``to_yaml`` reads back equal. Rules that look across keys or tasks live in
``checks.py`` as named checks, so each error can point at the key that breaks it.
"""

from __future__ import annotations

import functools
import math
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from headwater.domain.flowspec.params import fail, param_axis
from headwater.domain.graph import Dag
from headwater.domain.grid import ParamAxis
from headwater.domain.schedule import Recurring, parse_recurring, parse_schedule
from headwater.domain.stepcache import CachePolicy, CacheSpecError, parse_cache


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _listish(value: Any) -> Any:
    """A list, or a comma-separated string (the seed writes ``value: Leah,Yochay``)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list | tuple):
        return tuple(v.strip() if isinstance(v, str) else v for v in value)
    return value


def _whole(value: Any) -> Any:
    """Card positions from a canvas may be fractions; the seed keeps whole numbers."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            value = float(value)
        except ValueError:
            return value
    return round(value) if isinstance(value, float) and math.isfinite(value) else value


def _cache(value: Any) -> CachePolicy:
    """``cache: none | default | {life_span: 14d}``, errors pointing at the sub-key."""
    try:
        return parse_cache(value)
    except CacheSpecError as exc:
        raise fail(exc.detail, exc.hint, exc.key) from None


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str | None, BeforeValidator(_blank)]
Names = Annotated[tuple[str, ...], BeforeValidator(_listish)]
Position = Annotated[int | None, BeforeValidator(_whole)]
Param = Annotated[ParamAxis, BeforeValidator(param_axis)]
Cache = Annotated[CachePolicy, BeforeValidator(_cache)]
TaskType = Literal["data", "exec", "deploy"]


class Spec(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_alias=True,
        validate_by_name=True,
        allow_inf_nan=False,
        str_strip_whitespace=False,
    )


class Objective(StrEnum):
    MIN = "min"
    MAX = "max"
    GT = "gt"
    LT = "lt"
    EQ = "eq"
    HUMAN_VALIDATION = "human_validation"

    @property
    def compares(self) -> bool:
        """gt, lt and eq test each instance against ``target``."""
        return self in (Objective.GT, Objective.LT, Objective.EQ)

    @property
    def picks(self) -> bool:
        """min and max keep the one instance with the lowest or highest tag."""
        return self in (Objective.MIN, Objective.MAX)


class Condition(Spec):
    """A test on parents' tags, or (``human_validation``) the people who approve the task."""

    objective: Objective
    target: float | None = None
    task: Text = None
    tag_key: Text = None
    value: Text = None

    @property
    def approvers(self) -> tuple[str, ...]:
        if self.objective is not Objective.HUMAN_VALIDATION or not self.value:
            return ()
        return tuple(v.strip() for v in self.value.split(",") if v.strip())

    def applies_to(self, parent: str) -> bool:
        """A blank ``task`` means every parent."""
        return self.objective is not Objective.HUMAN_VALIDATION and self.task in (None, parent)


class TaskSpec(Spec):
    """Seed 002's general fields, on every task."""

    title: Title
    description: Text = None
    top: Position = None
    left: Position = None


class DataTask(TaskSpec):
    """A dataset at a commit or a query, mounted in each connected task's ``data/<name>/``."""

    type: Literal["data"]
    dataset: Title
    data_commit: Text = None
    data_query: Text = None
    use_cached: bool = False


class GatedTask(TaskSpec):
    """What exec and deploy tasks share: computes, an image, conditions, approvals, Git."""

    computes: Names = Field(min_length=1)
    image: Text = None
    conditions: tuple[Condition, ...] = ()
    confirmation: Names = ()  # cnvrg's later CLI: approvers, short for human_validation
    git_branch: Text = None
    git_commit: Text = None

    @property
    def approvers(self) -> tuple[str, ...]:
        """Who may approve this task; empty when it needs no approval."""
        names = [n for c in self.conditions for n in c.approvers] + list(self.confirmation)
        return tuple(dict.fromkeys(names))

    @property
    def needs_approval(self) -> bool:
        """Waits as Pending Approval until one of ``approvers`` says yes."""
        return bool(self.approvers)

    @property
    def tests(self) -> tuple[Condition, ...]:
        """The conditions that filter parents' instances (not approvals)."""
        return tuple(c for c in self.conditions if c.objective is not Objective.HUMAN_VALIDATION)


class ExecTask(GatedTask):
    """A custom task: a command run once per route and combination of its params."""

    type: Literal["exec"]
    input: Annotated[str, StringConstraints(min_length=1)]  # the command (seed's key)
    params: tuple[Param, ...] = ()
    single_mode: bool = False
    output_dir: Text = None
    model: Text = None  # Headwater: each successful instance's outputs become a model version
    model_path: Text = None  # ...only this file or folder of the outputs (e.g. output/model.pkl)
    mount_folders: Names = ()
    periodic_sync: bool | None = None
    restart_if_stuck: bool = False
    prerun: bool = True
    requirements: bool = True
    notify_on_error: bool | None = None
    notify_on_success: bool | None = None
    emails: Names = ()
    cache: Cache = CachePolicy()  # the step cache (neuro-flow's key): on, 14 days, by default

    @property
    def command(self) -> str:
        return self.input


class DeployTask(GatedTask):
    """Defines (or updates) an endpoint: ``endpoint_title`` for a new one, ``endpoint_id``."""

    type: Literal["deploy"]
    endpoint_title: Text = None
    endpoint_id: Text = None
    file_name: Title
    function_name: Title
    env_setup: Literal["python_3", "r_endpoint"] = "python_3"
    min_replica: int = Field(ge=1)
    max_replica: int = Field(ge=1)
    config_vars: Names = ()
    accept_files: bool = False


_GENERAL = ("title", "type", "description")
_GATED = ("computes", "image", "conditions", "confirmation")
_GIT = ("git_branch", "git_commit")
_ORDER = {
    "data": (*_GENERAL, "dataset", "data_commit", "data_query", "use_cached"),
    "exec": (
        *_GENERAL,
        "input",
        *_GATED,
        "params",
        *_GIT,
        "mount_folders",
        "periodic_sync",
        "restart_if_stuck",
        "prerun",
        "requirements",
        "notify_on_error",
        "notify_on_success",
        "emails",
        "single_mode",
        "output_dir",
        "model",
        "model_path",
        "cache",
    ),
    "deploy": (
        *_GENERAL,
        "endpoint_title",
        "endpoint_id",
        *_GATED,
        "file_name",
        "function_name",
        "env_setup",
        "min_replica",
        "max_replica",
        "config_vars",
        "accept_files",
        *_GIT,
    ),
}
# each task type's keys: the seed's tables, then Headwater's own; top and left go last
KEYS = {kind: (*keys, "top", "left") for kind, keys in _ORDER.items()}


Task = Annotated[DataTask | ExecTask | DeployTask, Field(discriminator="type")]
TASK_CLASSES: dict[str, type[DataTask | ExecTask | DeployTask]] = {
    "data": DataTask,
    "exec": ExecTask,
    "deploy": DeployTask,
}


class Relation(Spec):
    """``from:`` runs before ``to:``; ``to:`` gets its artifacts and tags."""

    source: Title = Field(alias="from")
    to: Title


class Flow(Spec):
    """A whole flow file; ``schedule`` and ``recurring`` are kept as written."""

    title: Title = Field(alias="flow")
    tasks: tuple[Task, ...] = Field(min_length=1)
    relations: Annotated[tuple[Relation, ...], BeforeValidator(_listish)]
    schedule: Text = None
    recurring: Text = None

    def task(self, title: str) -> DataTask | ExecTask | DeployTask:
        for task in self.tasks:
            if task.title == title:
                return task
        raise KeyError(title)

    @property
    def graph(self) -> Dag[str]:
        """Tasks as a DAG, in file order; built once per flow."""
        return _graph(self)

    def scheduled_at(self, tz: tzinfo) -> datetime | None:
        """When ``schedule:`` runs the flow, read in ``tz`` (the server's zone)."""
        return parse_schedule(self.schedule, tz=tz) if self.schedule else None

    def recurring_rule(self) -> Recurring | None:
        """``recurring:`` as a cron rule with its zone (None: the server's)."""
        return parse_recurring(self.recurring) if self.recurring else None


@functools.lru_cache(maxsize=128)
def _graph(flow: Flow) -> Dag[str]:
    titles = [t.title for t in flow.tasks]
    known = set(titles)
    edges = [(r.source, r.to) for r in flow.relations if r.source in known and r.to in known]
    return Dag(titles, edges)

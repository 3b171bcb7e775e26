"""What route expansion reads and writes: instances that ended, and instances to start.

An instance is one run of a task: one combination of its own grid on one route (one
instance of each parent). The engine stores them; these plain records are how it hands
them to the pure expansion code and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from headwater.domain.flowspec.model import TaskType


def recorded(
    tags: Mapping[str, str],
    logged: Mapping[str, str],
    metrics: Mapping[str, float],
) -> dict[str, str]:
    """What a task recorded under each key, as conditions, dynamic routes, ``{{ task.tag }}``
    and later tasks' variables read it: THE one rule for what a "tag" is.

    A stdout tag (``hw_tag_``/``cnvrg_tag_``, or the SDK's tags) wins, then a value logged
    with the SDK's ``log_param``, then the latest value of a metric (``log_metric`` or a
    ``hw_linechart_``/``cnvrg_linechart_`` line): seed 002's conditions test "a tracked
    metric", and its dynamic-route example records the tag with ``log_param``. The task's own
    grid parameters come after all of these (``Finished.value``).
    """
    out = {key: _metric_text(value) for key, value in metrics.items()}
    out.update(logged)
    out.update(tags)
    return out


def _metric_text(value: float) -> str:
    """3.0 as ``3`` (a route value or a command-line argument), others exactly (``0.9``)."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


@dataclass(frozen=True)
class Finished:
    """An instance that ended well, as later tasks see it.

    ``parents`` are the ids of the parent instances on its route; with them expansion
    finds every earlier instance on the route (for tags and for keeping routes apart).
    """

    id: str
    task: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    parents: tuple[str, ...] = ()

    def value(self, key: str) -> str | None:
        """A tag, or a parameter (cnvrg records parameters as tags too)."""
        got = self.tags.get(key)
        return got if got is not None else self.params.get(key)

    def values(self) -> dict[str, str]:
        return {**self.params, **self.tags}


@dataclass(frozen=True)
class Upstream:
    """One parent instance an instance builds on."""

    task: str
    instance: str
    kind: TaskType
    folder: str  # input/<folder>/ for a task's artifacts


@dataclass(frozen=True)
class Planned:
    """An instance to create: its parameters, its route and the variables it will see.

    ``env`` holds ``HW_TAG_<KEY>`` for its own parameters and ``HW_<TASKNAME>_<TAG>`` for the
    tags of every earlier instance on its route; the runtime adds ``INPUT_<NAME>`` and
    ``HW_TASKS_PASSED_CONDITION`` (``names.passed_condition_env``), which need real paths.
    """

    task: str
    params: dict[str, str]
    parents: tuple[Upstream, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    passed_condition: tuple[str, ...] = ()  # input folder names of parents that passed

    @property
    def parent_ids(self) -> tuple[str, ...]:
        return tuple(p.instance for p in self.parents)

    @property
    def inputs(self) -> tuple[Upstream, ...]:
        """Parents whose artifacts go into ``input/<folder>/``."""
        return tuple(p for p in self.parents if p.kind != "data")

    @property
    def datasets(self) -> tuple[Upstream, ...]:
        """Data-task parents: their datasets mount in ``data/<dataset>/``."""
        return tuple(p for p in self.parents if p.kind == "data")


@dataclass(frozen=True)
class Expansion:
    """A task's instances; none, with the reason, when no route reaches it."""

    task: str
    instances: tuple[Planned, ...]
    skipped: str | None = None

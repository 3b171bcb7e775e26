"""Route expansion (seed 002: Flow Routes, Grid Searches, Dynamic Routes, Single mode).

A task runs once per route that reaches it (one instance of each parent: X x Y, two parents
multiply) and once per combination of its own grid. Where two parents share an earlier task
(a diamond), only parent instances on the same route of it combine: a route is a path, so
it never mixes instance 1 of A on one side with instance 2 of A on the other. Single mode
runs the task's own grid once, on no route: parents' artifacts are not cloned and their
permutations do not multiply it. ``{{ task.tag | hyper }}`` adds one value per entry of a
parent's comma-separated tag, known only once that parent ended, which is why expansion
takes the finished instances and runs task by task, not once up front.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from headwater.domain.errors import InvalidInput
from headwater.domain.flowspec.conditions import passing
from headwater.domain.flowspec.instances import Expansion, Finished, Planned, Upstream
from headwater.domain.flowspec.model import Condition, DataTask, ExecTask, Flow
from headwater.domain.flowspec.names import folder_name, tag_env_name
from headwater.domain.flowspec.templates import Ref, find_refs, substitute
from headwater.domain.grid import ParamAxis, combinations, tag_env

MAX_INSTANCES = 10_000  # instances of one task: the default of the server's setting
LIMIT_SETTING = "HEADWATER_FLOW_MAX_INSTANCES"  # that setting, as errors name it
Route = dict[str, str]  # task title -> instance id, for the instance and all before it
TagsFor = Callable[[str, int, Planned], Mapping[str, str]]


class _Index:
    """Finished instances by id, with each one's route and tag variables worked out once."""

    def __init__(self, finished: Mapping[str, Sequence[Finished]]) -> None:
        self.by_task = finished
        self.by_id = {i.id: i for group in finished.values() for i in group}
        self._routes: dict[str, Route] = {}
        self._env: dict[str, dict[str, str]] = {}

    def route(self, instance_id: str) -> Route:
        got = self._routes.get(instance_id)
        if got is None:
            inst = self.by_id[instance_id]
            got = {}
            for parent in inst.parents:
                if parent in self.by_id:
                    got.update(self.route(parent))
            got[inst.task] = instance_id
            self._routes[instance_id] = got
        return got

    def env(self, instance_id: str) -> dict[str, str]:
        got = self._env.get(instance_id)
        if got is None:
            inst = self.by_id[instance_id]
            got = {tag_env_name(inst.task, k): v for k, v in inst.values().items()}
            self._env[instance_id] = got
        return got


def _too_many(task: str, count: int, limit: int) -> InvalidInput:
    return InvalidInput(
        f"task {task!r} would run {count:,} instances, over the limit of {limit:,} "
        f"({LIMIT_SETTING})",
        where=f"tasks.{task}",
        hint="Use fewer parameter values, a min/max condition to keep one parent instance, "
        f"or single mode (or have the server's admin raise {LIMIT_SETTING}).",
    )


def _routes(
    pools: Sequence[Sequence[Finished]], index: _Index, task: str, limit: int
) -> list[tuple[Route, tuple[Finished, ...]]]:
    """Every consistent choice of one instance per parent, first parent varying slowest."""
    combos: list[tuple[Route, tuple[Finished, ...]]] = [({}, ())]
    for group in pools:
        grown = []
        for route, chosen in combos:
            for inst in group:
                own = index.route(inst.id)
                if any(route.get(k, v) != v for k, v in own.items()):
                    continue  # a different instance of a shared earlier task: another route
                grown.append(({**route, **own}, (*chosen, inst)))
        if len(grown) > limit:
            raise _too_many(task, len(grown), limit)
        combos = grown
    return combos


class _Grid:
    """A task's own params, with ``{{ }}`` references resolved against one route."""

    def __init__(self, task: ExecTask | None, titles: Sequence[str], limit: int) -> None:
        self.axes: tuple[ParamAxis, ...] = task.params if task is not None else ()
        self.refs = [[find_refs(v, titles) for v in axis.values] for axis in self.axes]
        self.task = task.title if task is not None else ""
        self.limit = limit
        dynamic = any(r for axis in self.refs for r in axis)
        self.fixed = None if dynamic else self._combinations(self.axes)

    def _combinations(self, axes: Sequence[ParamAxis]) -> list[dict[str, str]]:
        count = math.prod(len(a.values) for a in axes)
        if count > self.limit:
            raise _too_many(self.task, count, self.limit)
        return combinations(axes, limit=self.limit)

    def resolve(self, route: Route, index: _Index) -> list[dict[str, str]]:
        if self.fixed is not None:
            return self.fixed
        axes = []
        for axis, refs_per_value in zip(self.axes, self.refs, strict=True):
            values: list[str] = []
            for value, refs in zip(axis.values, refs_per_value, strict=True):
                if len(refs) == 1 and refs[0].hyper:
                    raw = self._tag(refs[0], route, index)
                    values += [v.strip() for v in raw.split(",") if v.strip()]
                else:
                    values.append(substitute(value, refs, lambda r: self._tag(r, route, index)))
            axes.append(ParamAxis(axis.key, tuple(dict.fromkeys(values))))
        return self._combinations(axes)

    def _tag(self, ref: Ref, route: Route, index: _Index) -> str:
        where = f"tasks.{self.task}.params"
        hint = f"Have {ref.task!r} print 'hw_tag_{ref.tag}: VALUE', or log it with the SDK."
        if ref.task in route:
            got = index.by_id[route[ref.task]].value(ref.tag)
            if got is None:
                raise InvalidInput(
                    f"{ref} needs tag {ref.tag!r}, which {ref.task!r} did not record",
                    where=where,
                    hint=hint,
                )
            return got
        # single mode: no route, so take what every instance of that task agrees on
        seen = [i.value(ref.tag) for i in index.by_task.get(ref.task, ())]
        found = list(dict.fromkeys(v for v in seen if v is not None))
        if ref.hyper:
            return ",".join(found)
        if len(found) != 1:
            raise InvalidInput(
                f"{ref} has {len(found)} different values over the instances of "
                f"{ref.task!r}, and a single-mode task follows no one route",
                where=where,
                hint="Use '| hyper' for one instance per value, or turn single mode off.",
            )
        return found[0]


def _nothing_passed(
    parent: str, title: str, tests: Sequence[Condition], group: Sequence[Finished]
) -> str:
    """Why no instance of ``parent`` goes on: a key none of them recorded is named as such,
    since "did not pass" would send the user looking at thresholds."""
    for condition in tests:
        key = condition.tag_key or ""
        if group and all(i.value(key) is None for i in group):
            return (
                f"the condition of {title!r} tests {key!r}, which no instance of {parent!r} "
                f"recorded (as a tag, an SDK param or a metric): print "
                f"'hw_tag_{key}: VALUE' or log it with the SDK"
            )
    return f"no instance of {parent!r} passed the condition of {title!r}"


def expand(
    flow: Flow,
    title: str,
    finished: Mapping[str, Sequence[Finished]],
    *,
    limit: int = MAX_INSTANCES,
) -> Expansion:
    """The instances of task ``title``, once its parents have ended.

    ``finished`` maps task titles to their instances that ended well: at least those of
    every task before ``title`` (tags of earlier tasks and shared routes are read there).
    """
    task = flow.task(title)
    if isinstance(task, DataTask):
        return Expansion(title, (Planned(title, {}),))
    kinds = {t.title: t.type for t in flow.tasks}
    index = _Index(finished)
    single = isinstance(task, ExecTask) and task.single_mode
    pools, passed = [], []
    for parent in flow.graph.parents(title):
        group: Sequence[Finished] = finished.get(parent, ())
        tests = [c for c in task.tests if c.applies_to(parent)]
        if tests and kinds[parent] != "data":
            reason = _nothing_passed(parent, title, tests, group)
            group = passing(tests, group)
            passed.append(folder_name(parent))
        else:
            reason = f"{parent!r} has no instance that ended well"
        if not group:
            return Expansion(title, (), skipped=reason)
        if not single or kinds[parent] == "data":
            pools.append(group)
    combos = _routes(pools, index, title, limit)
    if not combos:
        return Expansion(title, (), skipped="the parents' instances share no route")
    own = task if isinstance(task, ExecTask) else None
    grid = _Grid(own, [t.title for t in flow.tasks], limit)
    if grid.fixed is not None and len(combos) * len(grid.fixed) > limit:
        raise _too_many(title, len(combos) * len(grid.fixed), limit)
    shown = () if single else tuple(passed)  # single mode clones no artifacts to point at
    out: list[Planned] = []
    for route, chosen in combos:
        ups = tuple(Upstream(i.task, i.id, kinds[i.task], folder_name(i.task)) for i in chosen)
        base: dict[str, str] = {}
        for instance_id in route.values():
            base.update(index.env(instance_id))
        for params in grid.resolve(route, index):
            env = {**base, **tag_env(params)}
            out.append(Planned(title, dict(params), ups, env, shown))
        if len(out) > limit:
            raise _too_many(title, len(out), limit)
    return Expansion(title, tuple(out))


def expand_all(
    flow: Flow, tags: TagsFor | None = None, *, limit: int = MAX_INSTANCES
) -> dict[str, Expansion]:
    """Every task's instances as if every instance ended well, with ``tags(task, n, planned)``
    as what instance ``n`` recorded: a preview of the routes, and the tests' oracle.
    """
    finished: dict[str, list[Finished]] = {}
    out: dict[str, Expansion] = {}
    for title in flow.graph.order():
        got = expand(flow, title, finished, limit=limit)
        out[title] = got
        finished[title] = [
            Finished(
                f"{title}#{n}",
                title,
                p.params,
                dict(tags(title, n, p)) if tags is not None else {},
                p.parent_ids,
            )
            for n, p in enumerate(got.instances)
        ]
    return out


def count_routes(expansions: Mapping[str, Expansion]) -> int:
    """All instances of all tasks: the seed's "number of flow routes" (2 + 3 + 5 = 10)."""
    return sum(len(e.instances) for e in expansions.values())

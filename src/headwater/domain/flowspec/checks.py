"""Named checks that look across keys and tasks, each pointing at the key that breaks it.

Each check reads a parsed ``Flow`` and yields ``Problem``s; ``CHECKS`` runs them in order and
``parse_flow`` reports them all at once, like a linter, so one round fixes a file.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Iterator
from datetime import UTC

from headwater.domain.errors import InvalidInput
from headwater.domain.flowspec.model import DataTask, DeployTask, ExecTask, Flow, GatedTask
from headwater.domain.flowspec.names import folder_name
from headwater.domain.flowspec.routes import LIMIT_SETTING, MAX_INSTANCES
from headwater.domain.flowspec.source import Problem
from headwater.domain.flowspec.templates import HYPER, find_refs
from headwater.domain.model_sources import check_model_name
from headwater.domain.paths import check_path
from headwater.domain.schedule import parse_recurring, parse_schedule

Check = Callable[[Flow], Iterator[Problem]]
_ENDPOINT = re.compile(r"[A-Za-z0-9-]+")
_MOUNT = re.compile(r"[^\s:/]+:/\S*")


def _near(word: str, known: list[str]) -> str:
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1)
    names = ", ".join(repr(k) for k in known)
    return (f"Did you mean {lowered[close[0]]!r}? " if close else "") + f"The tasks are: {names}."


def check_unique_titles(flow: Flow) -> Iterator[Problem]:
    """Relations and ``input/<name>/`` folders name tasks by title, so titles must differ."""
    seen: dict[str, str] = {}
    for i, task in enumerate(flow.tasks):
        name = folder_name(task.title)
        path = ("tasks", i, "title")
        if not name:
            yield Problem(path, f"title {task.title!r} has no letter or digit", _FOLDER_HINT)
        elif name in seen:
            same = seen[name] == task.title
            what = "is given to two tasks" if same else f"gives the same folder as {seen[name]!r}"
            yield Problem(path, f"title {task.title!r} {what} (input/{name}/)", _FOLDER_HINT)
        else:
            seen[name] = task.title


_FOLDER_HINT = "Give each task its own title: lowercased, with symbols removed, they must differ."


def check_relations(flow: Flow) -> Iterator[Problem]:
    """Both ends of every relation are tasks of this flow."""
    known = [t.title for t in flow.tasks]
    for i, rel in enumerate(flow.relations):
        for key, name in (("from", rel.source), ("to", rel.to)):
            if name not in known:
                yield Problem(
                    ("relations", i, key),
                    f"relation {key} {name!r}: no task has that title",
                    _near(name, known),
                )


def check_cycles(flow: Flow) -> Iterator[Problem]:
    """A flow is a DAG; a cycle is reported on the relation that closes it."""
    cycle = flow.graph.find_cycle()
    if cycle is None:
        return
    index = next(
        i for i, r in enumerate(flow.relations) if (r.source, r.to) == (cycle[-2], cycle[-1])
    )
    path = " -> ".join(cycle)
    yield Problem(
        ("relations", index),
        f"the tasks form a cycle: {path}",
        "A flow is a DAG: remove one of these relations so no task follows itself.",
    )


def check_schedule(flow: Flow) -> Iterator[Problem]:
    """``schedule`` (once) or ``recurring`` (cron), never both; each in a format we read."""
    if flow.schedule and flow.recurring:
        yield Problem(
            ("recurring",),
            "schedule and recurring cannot be used together",
            "Keep schedule: for one run at a time, or recurring: for a cron line.",
        )
    for key, text, read in (
        ("schedule", flow.schedule, lambda s: parse_schedule(s, tz=UTC)),
        ("recurring", flow.recurring, parse_recurring),
    ):
        if text:
            try:
                read(text)
            except InvalidInput as exc:
                yield Problem((key,), exc.detail, exc.hint or "")


def check_deploy(flow: Flow) -> Iterator[Problem]:
    """An endpoint is new (a title) or existing (an id), and its title fits in a URL."""
    for i, task in enumerate(flow.tasks):
        if not isinstance(task, DeployTask):
            continue
        here = ("tasks", i)
        if task.endpoint_title and task.endpoint_id:
            yield Problem(
                (*here, "endpoint_id"),
                f"task {task.title!r} gives both endpoint_title and endpoint_id",
                "Use endpoint_title to create an endpoint, or endpoint_id to update one.",
            )
        elif not (task.endpoint_title or task.endpoint_id):
            yield Problem(
                (*here, "endpoint_title"),
                f"task {task.title!r} needs endpoint_title or endpoint_id",
                "Use endpoint_title to create an endpoint, or endpoint_id to update one.",
            )
        if task.endpoint_title and not _ENDPOINT.fullmatch(task.endpoint_title):
            yield Problem(
                (*here, "endpoint_title"),
                f"endpoint title {task.endpoint_title!r} has characters other than letters, "
                "digits and hyphens",
                "It becomes part of the endpoint's URL: use e.g. churn-model-2.",
            )
        if task.min_replica > task.max_replica:
            yield Problem(
                (*here, "max_replica"),
                f"max_replica {task.max_replica} is below min_replica {task.min_replica}",
                "Set max_replica to at least min_replica.",
            )
        for j, pair in enumerate(task.config_vars):
            if "=" not in pair or not pair.partition("=")[0].strip():
                yield Problem(
                    (*here, "config_vars", j),
                    f"config_vars entry {pair!r} is not key=value",
                    "Write config_vars: [KEY1=value1, KEY2=value2].",
                )


def check_conditions(flow: Flow) -> Iterator[Problem]:
    """Each condition gives the fields its objective uses, and only those."""
    for i, task in enumerate(flow.tasks):
        if not isinstance(task, GatedTask):
            continue
        parents = flow.graph.parents(task.title)
        for j, cond in enumerate(task.conditions):
            here = ("tasks", i, "conditions", j)
            obj = cond.objective.value
            given = {
                k: getattr(cond, k) is not None for k in ("target", "task", "tag_key", "value")
            }
            need, deny = _FIELDS[obj]
            for key in need:
                if not given[key]:
                    yield Problem((*here, key), f"objective {obj} needs {key}", _COND_HINT[obj])
            for key in deny:
                if given[key]:
                    yield Problem((*here, key), f"objective {obj} takes no {key}", _COND_HINT[obj])
            if cond.task is not None and cond.objective.value != "human_validation":
                if cond.task not in parents:
                    yield Problem(
                        (*here, "task"),
                        f"condition task {cond.task!r} is not a task right before {task.title!r}",
                        "Name a task with a relation to this one, or leave task blank for all.",
                    )
                elif isinstance(flow.task(cond.task), DataTask):
                    yield Problem(
                        (*here, "task"),
                        f"condition task {cond.task!r} is a data task, which records no tags",
                        "Test a task that runs a command.",
                    )


_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gt": (("target", "tag_key"), ("value",)),
    "lt": (("target", "tag_key"), ("value",)),
    "eq": (("target", "tag_key"), ("value",)),
    "min": (("tag_key",), ("target", "value")),
    "max": (("tag_key",), ("target", "value")),
    "human_validation": (("value",), ("target", "task", "tag_key")),
}  # objective -> (keys it needs, keys it refuses)
_COND_HINT = {
    "gt": "gt, lt and eq compare tag_key against target: give both, and no value.",
    "min": "min and max keep the instance with the lowest or highest tag_key: give tag_key "
    "only, no target.",
    "human_validation": "human_validation takes value: the approvers' usernames, "
    "comma-separated; nothing else.",
}
_COND_HINT |= {"lt": _COND_HINT["gt"], "eq": _COND_HINT["gt"], "max": _COND_HINT["min"]}


def check_params(flow: Flow, *, max_instances: int = MAX_INSTANCES) -> Iterator[Problem]:
    """Each key once; ``{{ task.tag }}`` names an earlier task; ``| hyper`` stands alone;
    a grid within the server's instance limit."""
    titles = [t.title for t in flow.tasks]
    graph = flow.graph
    acyclic = graph.find_cycle() is None
    for i, task in enumerate(flow.tasks):
        if not isinstance(task, ExecTask):
            continue
        before = graph.ancestors(task.title) if acyclic else frozenset()
        size = math.prod(len(axis.values) for axis in task.params)
        if size > max_instances:
            yield Problem(
                ("tasks", i, "params"),
                f"task {task.title!r} has a grid of {size:,} combinations, over the limit of "
                f"{max_instances:,} instances a task ({LIMIT_SETTING})",
                "Use fewer values per parameter, or split the grid over several tasks (or "
                f"have the server's admin raise {LIMIT_SETTING}).",
            )
        keys: set[str] = set()
        for j, axis in enumerate(task.params):
            here = ("tasks", i, "params", j)
            if axis.key in keys:
                yield Problem(
                    (*here, "key"),
                    f"parameter {axis.key!r} is given twice",
                    "Give each parameter once, with all its values.",
                )
            keys.add(axis.key)
            for value in axis.values:
                yield from _check_refs(value, titles, before, (*here, "value"), len(axis.values))


def _check_refs(
    value: str, titles: list[str], before: frozenset[str], path: tuple[str | int, ...], n: int
) -> Iterator[Problem]:
    refs = find_refs(value, titles)
    for ref in refs:
        if ref.task not in before:
            yield Problem(
                path,
                f"{ref} names {ref.task!r}, which is not a task before this one",
                _near(ref.task, sorted(before)) if before else "Add a relation first.",
            )
        elif not ref.tag:
            yield Problem(path, f"{ref} names no tag", "Write {{ task name.tag name }}.")
        if ref.filter is not None and ref.filter != HYPER:
            yield Problem(path, f"{ref}: unknown filter {ref.filter!r}", "The one filter is hyper.")
        if ref.hyper and (len(refs) > 1 or value.strip() != value[ref.start : ref.end] or n > 1):
            yield Problem(
                path,
                f"{ref} must be the parameter's only value",
                "Write value: '{{ task.tag | hyper }}' on its own.",
            )


def _grid_size(task: DataTask | ExecTask | DeployTask) -> int:
    return math.prod(len(a.values) for a in task.params) if isinstance(task, ExecTask) else 1


def check_route_sizes(flow: Flow, *, max_instances: int = MAX_INSTANCES) -> Iterator[Problem]:
    """Instances multiply along a route (101 values, then 100 after it: 10,100 instances of
    the second), so a flow over the limit is refused here rather than failing at run time
    after its first tasks ran. Only what is certain is counted: a route through a condition,
    a ``{{ }}`` value (a dynamic route may add or merge values) or an oversized grid (named by
    ``check_params``) is left to the run; single mode starts a route afresh."""
    graph = flow.graph
    if graph.find_cycle() is not None:
        return
    titles = [t.title for t in flow.tasks]
    position = {t.title: i for i, t in enumerate(flow.tasks)}
    routes: dict[str, frozenset[str] | None] = {}  # the tasks whose grids multiply into it
    for title in graph.order():
        task = flow.task(title)
        route: frozenset[str] | None = frozenset({title})
        if isinstance(task, ExecTask):
            dynamic = any(find_refs(v, titles) for a in task.params for v in a.values)
            if dynamic or _grid_size(task) > max_instances:
                route = None
        if route is not None and not isinstance(task, DataTask):
            single = isinstance(task, ExecTask) and task.single_mode
            for parent in graph.parents(title):
                if isinstance(flow.task(parent), DataTask) or single:
                    continue
                above = routes.get(parent)
                if above is None or any(c.applies_to(parent) for c in task.tests):
                    route = None
                    break
                route |= above
        routes[title] = route
        if route is None:
            continue
        count = math.prod(_grid_size(flow.task(t)) for t in route)
        if count <= max_instances:
            continue
        routes[title] = None  # named here: its descendants are not named again
        factors = [t for t in graph.order() if t in route and _grid_size(flow.task(t)) > 1]
        product = " x ".join(f"{_grid_size(flow.task(t)):,} ({t})" for t in factors)
        has_params = isinstance(task, ExecTask) and task.params
        yield Problem(
            ("tasks", position[title], *(("params",) if has_params else ())),
            f"task {title!r} would run {count:,} instances, over the limit of "
            f"{max_instances:,} ({LIMIT_SETTING}): the grids along its route multiply "
            f"({product})",
            "Use fewer parameter values, a min/max condition to keep one parent instance, "
            f"or single_mode: true on this task (or have the server's admin raise "
            f"{LIMIT_SETTING}).",
        )


def check_sources(flow: Flow) -> Iterator[Problem]:
    """A dataset at a commit or a query, not both; mounts in ``ip:/folder`` form."""
    for i, task in enumerate(flow.tasks):
        if isinstance(task, DataTask) and task.data_commit and task.data_query:
            yield Problem(
                ("tasks", i, "data_query"),
                f"task {task.title!r} gives both data_commit and data_query",
                "Leave data_commit blank when you use data_query, and the other way.",
            )
        if isinstance(task, ExecTask):
            for j, mount in enumerate(task.mount_folders):
                if not _MOUNT.fullmatch(mount):
                    yield Problem(
                        ("tasks", i, "mount_folders", j),
                        f"mount {mount!r} is not <ip_of_network_drive>:/<folder>",
                        "Write e.g. 10.0.0.5:/datasets.",
                    )


def check_models(flow: Flow) -> Iterator[Problem]:
    """``model:`` is a model name; ``model_path:`` needs ``model:`` and lies in the outputs."""
    for i, task in enumerate(flow.tasks):
        if not isinstance(task, ExecTask):
            continue
        if task.model is not None:
            try:
                check_model_name(task.model)
            except InvalidInput as exc:
                yield Problem(("tasks", i, "model"), exc.detail, exc.hint or "")
        if task.model_path is None:
            continue
        if task.model is None:
            yield Problem(
                ("tasks", i, "model_path"),
                f"task {task.title!r} gives model_path but no model",
                "Name the model too, e.g. model: churn-model, or drop model_path.",
            )
        try:
            path = check_path(task.model_path, where="model_path")
        except InvalidInput as exc:
            yield Problem(("tasks", i, "model_path"), exc.detail, exc.hint or "")
            continue
        folder = (task.output_dir or "").strip("/")
        if folder and path != folder and not path.startswith(folder + "/"):
            yield Problem(
                ("tasks", i, "model_path"),
                f"model_path {path!r} is not inside the task's output folder {folder!r}",
                f"Name a file or folder under {folder}/, e.g. {folder}/model.pkl.",
            )


CHECKS: tuple[Check, ...] = (
    check_unique_titles,
    check_relations,
    check_cycles,
    check_schedule,
    check_deploy,
    check_conditions,
    check_params,
    check_route_sizes,
    check_sources,
    check_models,
)


def run_checks(flow: Flow, *, max_instances: int = MAX_INSTANCES) -> list[Problem]:
    """Every check's problems; ``max_instances`` is the server's limit on one task's
    instances (a setting), which the checks that count instances read."""
    bound: dict[Check, Check] = {
        check_params: functools.partial(check_params, max_instances=max_instances),
        check_route_sizes: functools.partial(check_route_sizes, max_instances=max_instances),
    }
    return [p for check in CHECKS for p in bound.get(check, check)(flow)]

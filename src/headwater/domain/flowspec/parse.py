"""Flow YAML text -> a checked ``Flow``; every problem named by ``FILE:LINE key``.

Three passes, each reporting all it finds: the YAML itself (syntax, repeated keys), the
shape (pydantic: unknown and missing keys, types), then the named checks across tasks. Later
passes need a sound result from the earlier ones, so a pass with problems ends the parse.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from headwater.domain.flowspec.checks import run_checks
from headwater.domain.flowspec.model import KEYS, TASK_CLASSES, Condition, Flow, Relation
from headwater.domain.flowspec.params import ENTRY_KEYS
from headwater.domain.flowspec.routes import MAX_INSTANCES
from headwater.domain.flowspec.source import (
    FlowSpecError,
    Path,
    Problem,
    SourceMap,
    dotted,
    load,
)

_TYPES = tuple(TASK_CLASSES)
_TOP_KEYS = ("flow", "tasks", "relations", "schedule", "recurring")
_SKELETON = "flow: TITLE\ntasks:\n- title: ...\n  type: exec\nrelations: []"


def _keys(cls: type[Any]) -> list[str]:
    return [f.alias or name for name, f in cls.model_fields.items()]


def _allowed(path: Path, data: Any) -> tuple[str, list[str]]:
    """What the mapping at ``path`` is, and the keys it takes."""
    if len(path) <= 1:
        return "the flow", list(_TOP_KEYS)
    if path[0] == "relations":
        return "a relation", _keys(Relation)
    if "conditions" in path:
        return "a condition", _keys(Condition)
    if "params" in path:
        return "a params entry", list(ENTRY_KEYS)
    task = _task_data(data, path)
    kind = task.get("type") if isinstance(task, dict) else None
    if not isinstance(kind, str) or kind not in KEYS:
        return "a task", ["title", "type"]
    return f"{_named(task)}({kind})", list(KEYS[kind])


def _task_data(data: Any, path: Path) -> Any:
    try:
        return data["tasks"][path[1]]
    except (KeyError, IndexError, TypeError):
        return None


def _named(task: Any) -> str:
    title = task.get("title") if isinstance(task, dict) else None
    return f"task {title!r} " if isinstance(title, str) else "a task "


def _problem(err: ErrorDetails, data: Any) -> Problem:
    loc = list(err["loc"])
    if len(loc) > 2 and loc[0] == "tasks" and loc[2] in _TYPES:
        del loc[2]  # the union's branch name, not a key in the file
    path: Path = tuple(loc)
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "flowspec":
        sub = str(ctx.get("subkey") or "")
        return Problem((*path, sub) if sub else path, str(ctx["detail"]), str(ctx["hint"]))
    key = str(path[-1]) if path else ""
    what, keys = _allowed(path[:-1], data)
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(key, keys, n=1)
        guess = f"Did you mean {close[0]!r}? " if close else ""
        if key == "command" and "input" in keys:
            guess = "The command goes in 'input:'. "
        return Problem(path, f"unknown key {key!r} in {what}", guess + f"Keys: {', '.join(keys)}.")
    if kind == "missing":
        return Problem(path, f"missing required key {key!r} in {what}", _hint_for(key))
    if kind == "union_tag_not_found":
        return Problem((*path, "type"), "a task has no type", "Give type: data, exec or deploy.")
    if kind == "union_tag_invalid":
        got = ctx.get("tag")
        return Problem(
            (*path, "type"),
            f"type {got!r} is not data, exec or deploy",
            "Give type: data, exec or deploy.",
        )
    if kind == "too_short" and key in ("computes", "tasks"):
        return Problem(path, f"{key} is empty", _hint_for(key))
    if kind in ("string_too_short",) or (kind == "string_type" and err["input"] is None):
        return Problem(path, f"{key} is empty", _hint_for(key))
    shown = dotted(path)
    return Problem(path, f"{shown}: {err['msg']}", f"Check the value of {key or 'this key'}.")


def _hint_for(key: str) -> str:
    return {
        "flow": "Start the file with flow: TITLE.",
        "tasks": "List the tasks under tasks:, each with title: and type:.",
        "relations": "Write relations: [] when no task follows another, or a list of "
        "{from: A, to: B}.",
        "computes": "List at least one compute template: computes: [default].",
        "input": "Give the command to run: input: python3 train.py.",
        "title": "Give every task a title.",
        "dataset": "Name the dataset to mount: dataset: NAME.",
        "objective": "Give objective: min, max, gt, lt, eq or human_validation.",
    }.get(key, f"Add {key}: with a value.")


def parse_flow_with_map(
    text: str, *, source: str = "flow.yaml", max_instances: int = MAX_INSTANCES
) -> tuple[Flow, SourceMap]:
    """The flow and where each key is in ``text``; raises ``FlowSpecError``.
    ``max_instances``: the server's limit on one task's instances, checked where the file
    makes the count certain (grids and routes of grids)."""
    data, smap = load(text, source=source)
    if not isinstance(data, dict):
        raise FlowSpecError(
            [Problem((), "a flow file is a mapping with flow:, tasks: and relations:", _SKELETON)],
            smap,
        )
    try:
        flow = Flow.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # pydantic counts only the tasks that validated: a broken task also reads as "tasks
        # is empty", which hides the real problem behind a wrong one
        broken_task = any(len(e["loc"]) > 1 and e["loc"][0] == "tasks" for e in errors)
        errors = [
            e
            for e in errors
            if not (broken_task and e["type"] == "too_short" and e["loc"] == ("tasks",))
        ]
        problems = [_problem(e, data) for e in errors]
        raise FlowSpecError(_in_file_order(problems, smap), smap) from None
    problems = run_checks(flow, max_instances=max_instances)
    if problems:
        raise FlowSpecError(_in_file_order(problems, smap), smap)
    return flow, smap


def parse_flow(text: str, *, source: str = "flow.yaml", max_instances: int = MAX_INSTANCES) -> Flow:
    """A flow file read and checked; raises ``FlowSpecError`` (an ``InvalidInput``)."""
    return parse_flow_with_map(text, source=source, max_instances=max_instances)[0]


def _in_file_order(problems: list[Problem], smap: SourceMap) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line or smap.line(p.path))

"""A ``Flow`` back to YAML (``hw flow export``): what ``parse_flow`` reads back as equal.

Only keys that differ from their defaults are written, in the seed's order (title and type
first), so an export looks like a file a person wrote. A parameter with one value is written
as a scalar unless a comma in it would split it on the way back; then it is a list.
"""

from __future__ import annotations

from typing import Any

import yaml

from headwater.domain.flowspec.model import (
    KEYS,
    DataTask,
    DeployTask,
    ExecTask,
    Flow,
    GatedTask,
)
from headwater.domain.grid import ParamAxis


def _param(axis: ParamAxis) -> dict[str, Any]:
    values = list(axis.values)
    one = len(values) == 1 and "," not in values[0]
    return {"key": axis.key, "value": values[0] if one else values}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def task_dict(task: DataTask | ExecTask | DeployTask) -> dict[str, Any]:
    """One task as the file's mapping: the keys that are set, in the seed's order."""
    dumped = task.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    dumped["type"] = task.type
    order = KEYS[task.type]
    out: dict[str, Any] = {}
    for key in sorted(dumped, key=order.index):
        value = dumped[key]
        if key == "params" and isinstance(task, ExecTask):
            out[key] = [_param(axis) for axis in task.params]
        elif key == "cache" and isinstance(task, ExecTask):
            out[key] = task.cache.to_yaml()
        elif key == "conditions" and isinstance(task, GatedTask):
            out[key] = [c.model_dump(exclude_defaults=True, mode="json") for c in task.conditions]
        else:
            out[key] = _plain(value)
    return out


def flow_dict(flow: Flow) -> dict[str, Any]:
    out: dict[str, Any] = {"flow": flow.title}
    if flow.schedule:
        out["schedule"] = flow.schedule
    if flow.recurring:
        out["recurring"] = flow.recurring
    out["tasks"] = [task_dict(t) for t in flow.tasks]
    out["relations"] = [{"from": r.source, "to": r.to} for r in flow.relations]
    return out


def to_yaml(flow: Flow) -> str:
    """The flow file for ``flow``; ``parse_flow(to_yaml(f)) == f``."""
    text: str = yaml.safe_dump(
        flow_dict(flow), sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
    return text

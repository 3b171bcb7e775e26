"""Parameters and grid search (seed 002): axes of values, and every combination of them.

``--param lr=0.1,0.01`` and cnvrg's grid file both give axes; the experiments are their
cartesian product, the first axis varying slowest, as cnvrg multiplies routes.
"""

from __future__ import annotations

import itertools
import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml  # PyYAML: a project dependency; its node tree gives line numbers for errors

from headwater.domain.errors import InvalidInput

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_RANGE = re.compile(r"(-?\d+)\.\.(-?\d+)(?:\.\.(\d+))?")
_ENV_UNSAFE = re.compile(r"[^A-Z0-9_]")
TYPES = ("discrete", "categorical", "integer", "float")
SCALES = {"linear", "log", "log2", "log10"}


@dataclass(frozen=True)
class ParamAxis:
    key: str
    values: tuple[str, ...]


def _check_key(key: str, where: str, hint: str) -> str:
    if not _KEY.fullmatch(key):
        raise InvalidInput(
            f"{key!r} is not a usable parameter name",
            where=where,
            hint=f"Start with a letter or '_', then letters, digits, '_', '.', '-'. {hint}",
        )
    return key


def parse_param_option(text: str, *, where: str = "--param") -> ParamAxis:
    """``KEY=V1,V2`` or an inclusive integer range ``KEY=1..100`` (``KEY=0..10..2``)."""
    hint = "Write --param lr=0.1,0.01 or --param i=1..100."
    key, sep, rest = text.partition("=")
    if not sep:
        raise InvalidInput(f"{text!r} has no '='", where=where, hint=hint)
    key = _check_key(key.strip(), where, hint)
    found = _RANGE.fullmatch(rest.strip())
    if found:
        start, stop, step = int(found[1]), int(found[2]), int(found[3] or 1)
        if step < 1 or stop < start:
            raise InvalidInput(
                f"the range {rest!r} is empty", where=where, hint="Write low..high[..step]."
            )
        return ParamAxis(key, tuple(str(i) for i in range(start, stop + 1, step)))
    values = tuple(v.strip() for v in rest.split(","))
    if not values or any(v == "" for v in values):
        raise InvalidInput(f"{text!r} has an empty value", where=where, hint=hint)
    return ParamAxis(key, values)


def _number(value: float) -> str:
    """Short, stable text for a number: 0.001, not 0.0010000000000000002."""
    if float(value).is_integer():
        return str(int(value))
    return f"{float(f'{value:.12g}')!r}"


def _spread(low: float, high: float, steps: int, scale: str) -> list[float]:
    if steps == 1:
        return [low]
    if scale == "linear":
        return [low + (high - low) * i / (steps - 1) for i in range(steps)]
    lo, hi = math.log10(low), math.log10(high)
    return [10 ** (lo + (hi - lo) * i / (steps - 1)) for i in range(steps)]


def _line_of(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def _entry_axis(entry: Any, where: str) -> ParamAxis:
    hint = (
        "Each entry: {key, type: discrete|categorical|integer|float, values: [...]} or "
        "{key, type, min, max, steps, scale: linear|log}."
    )
    if not isinstance(entry, dict):
        raise InvalidInput("a parameter entry is not a mapping", where=where, hint=hint)
    unknown = set(entry) - {"key", "type", "values", "min", "max", "steps", "scale"}
    if unknown:
        raise InvalidInput(
            f"unknown field(s) {', '.join(sorted(map(str, unknown)))}", where=where, hint=hint
        )
    key = _check_key(str(entry.get("key", "")), where, hint)
    kind = str(entry.get("type", "discrete"))
    if kind not in TYPES:
        raise InvalidInput(f"unknown type {kind!r} for {key}", where=where, hint=hint)
    if "values" in entry:
        values = entry["values"]
        if not isinstance(values, list) or not values:
            raise InvalidInput(f"{key}: values must be a non-empty list", where=where, hint=hint)
        if kind == "integer" and not all(isinstance(v, int) for v in values):
            raise InvalidInput(f"{key}: integer values must be whole numbers", where=where)
        return ParamAxis(key, tuple(_number(v) if isinstance(v, float) else str(v) for v in values))
    try:
        low, high = float(entry["min"]), float(entry["max"])
        steps = int(entry.get("steps", 2))
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(
            f"{key}: give either values, or numbers min, max and steps", where=where, hint=hint
        ) from None
    scale = str(entry.get("scale", "linear"))
    if scale not in SCALES:
        raise InvalidInput(f"{key}: unknown scale {scale!r}", where=where, hint=hint)
    if low > high or steps < 1:
        raise InvalidInput(f"{key}: needs min <= max and steps >= 1", where=where, hint=hint)
    if scale != "linear" and low <= 0:
        raise InvalidInput(f"{key}: a log scale needs min > 0", where=where, hint=hint)
    points = _spread(low, high, steps, scale)
    if kind == "integer":
        whole = dict.fromkeys(str(round(p)) for p in points)
        return ParamAxis(key, tuple(whole))
    return ParamAxis(key, tuple(_number(p) for p in points))


def parse_grid_file(text: str, *, source: str) -> list[ParamAxis]:
    """cnvrg's grid file: ``parameters:`` a list of entries; errors name ``source:line``."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise InvalidInput(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            where=f"{source}:{line}",
            hint="Fix the YAML syntax at that line.",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("parameters"), list):
        raise InvalidInput(
            "a grid file needs a top-level 'parameters:' list",
            where=f"{source}:1",
            hint="parameters:\n  - key: lr\n    type: discrete\n    values: [0.1, 0.01]",
        )
    nodes: list[yaml.Node] = []
    if isinstance(root, yaml.MappingNode):
        for k, v in root.value:
            if k.value == "parameters" and isinstance(v, yaml.SequenceNode):
                nodes = list(v.value)
    axes = []
    for i, entry in enumerate(data["parameters"]):
        node = nodes[i] if i < len(nodes) else None
        axes.append(_entry_axis(entry, f"{source}:{_line_of(node)}"))
    return axes


def combinations(axes: Sequence[ParamAxis], *, limit: int = 10_000) -> list[dict[str, str]]:
    """Every combination, the first axis varying slowest; no axes give one empty run."""
    seen: set[str] = set()
    for axis in axes:
        if axis.key in seen:
            raise InvalidInput(
                f"parameter {axis.key!r} is given twice",
                where=axis.key,
                hint="Give each parameter once, with all its values: --param lr=0.1,0.01.",
            )
        seen.add(axis.key)
    count = math.prod(len(a.values) for a in axes)
    if count > limit:
        raise InvalidInput(
            f"the grid makes {count:,} experiments, more than the limit of {limit:,}",
            where="parameters",
            hint="Use fewer values per parameter, or split the grid into several runs.",
        )
    keys = [a.key for a in axes]
    return [
        dict(zip(keys, combo, strict=True))
        for combo in itertools.product(*(a.values for a in axes))
    ]


def command_with_params(command: str, params: Mapping[str, str]) -> str:
    """cnvrg appends each parameter to the command as ``--key value``."""
    tail = "".join(f" --{k} {shlex.quote(v)}" for k, v in params.items())
    return command + tail


def tag_env(params: Mapping[str, str]) -> dict[str, str]:
    """``HW_TAG_<KEY>`` for each parameter (seed 002's ``CNVRG_TAG_<KEY>``)."""
    return {"HW_TAG_" + _ENV_UNSAFE.sub("_", k.upper()): v for k, v in params.items()}


def axis_from_entry(entry: Any, *, where: str) -> ParamAxis:
    """One grid-file entry as an axis; a flow task's ``params`` entries use the same forms."""
    return _entry_axis(entry, where)

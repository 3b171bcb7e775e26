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
from typing import TYPE_CHECKING, Any

from headwater.domain.errors import InvalidInput
from headwater.domain.naming import env_part, value_key_problem

if TYPE_CHECKING:
    import yaml

TYPES = ("discrete", "categorical", "integer", "float")
SCALES = ("linear", "log", "log2", "log10")
MAX_AXIS = 100_000  # values on one axis: a typo like 1..1000000000 must not eat the memory
_FIELDS = ("key", "type", "values", "min", "max", "steps", "scale")
_INT = re.compile(r"[-+]?\d+")
_RANGE = re.compile(r"([-+]?\d+)\.\.([-+]?\d+)(?:\.\.([-+]?\d+))?")
_DECIMAL_RANGE = re.compile(r"[-+]?[\d.]*\d\.\.[-+]?[\d.]*\d(?:\.\.[-+]?[\d.]*\d)?")
_OPTION_HINT = "Write --param lr=0.1,0.01 or --param i=1..100 (i=0..10..2 for a step of 2)."
_SPACED_HINT = "steps counts the values, ends included: min: 0, max: 1, steps: 3 gives 0, 0.5, 1."
_ENTRY_HINT = (
    "Each entry: {key, type: discrete|categorical|integer|float, values: [...]} or "
    "{key, type: integer|float|discrete, min, max, steps, scale: linear|log}."
)


@dataclass(frozen=True)
class ParamAxis:
    """One parameter and its values, kept as text: they reach the command line as text."""

    key: str
    values: tuple[str, ...]


def _bad(where: str, detail: str, hint: str) -> InvalidInput:
    return InvalidInput(detail, where=where, hint=hint)


def _check_key(key: str, where: str, hint: str) -> str:
    problem = value_key_problem(key)
    if problem is not None:
        rule = "A name may hold spaces and other printable characters, at most 255."
        raise _bad(where, f"{key!r} is not a usable parameter name: it {problem}", f"{rule} {hint}")
    return key


def _int_range(start: int, stop: int, step: int, where: str) -> tuple[str, ...]:
    if step < 1 or stop < start:
        detail = f"the range {start}..{stop} (step {step}) is empty"
        raise _bad(where, detail, "Write LOW..HIGH[..STEP], e.g. --param i=0..10..2.")
    count = (stop - start) // step + 1
    if count > MAX_AXIS:
        raise _bad(
            where,
            f"the range {start}..{stop} has {count:,} values, over the limit of {MAX_AXIS:,}",
            "Use a step (--param i=0..1000000..1000) or a smaller range.",
        )
    return tuple(str(i) for i in range(start, stop + 1, step))


def parse_param_option(text: str, *, where: str = "--param") -> ParamAxis:
    """``KEY=V1,V2`` or an inclusive integer range ``KEY=1..100`` (``KEY=0..10..2``)."""
    key, sep, rest = text.partition("=")
    if not sep:
        raise _bad(where, f"{text!r} has no '='", _OPTION_HINT)
    key = _check_key(key.strip(), where, _OPTION_HINT)
    rest = rest.strip()
    found = _RANGE.fullmatch(rest)
    if found:
        values = _int_range(int(found[1]), int(found[2]), int(found[3] or 1), where)
        return ParamAxis(key, values)
    if _DECIMAL_RANGE.fullmatch(rest):
        raise _bad(
            where, f"{rest!r}: a range takes whole numbers", "Or list: --param lr=0.1,0.2,0.3."
        )
    values = tuple(v.strip() for v in rest.split(","))
    if "" in values:
        raise _bad(where, f"{text!r} has an empty value", _OPTION_HINT)
    return ParamAxis(key, values)


def _number(value: float) -> str:
    """Short, stable text for a number: 0.001, not 0.0010000000000000002."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(f"{value:.12g}"))


def _spread(low: float, high: float, steps: int, scale: str) -> list[float]:
    """``steps`` points from low to high, both ends included. Every log base spaces the
    points alike (the ratio between neighbours is the same), so one formula serves all."""
    if steps == 1:
        return [low]
    if scale == "linear":
        points = [low + (high - low) * i / (steps - 1) for i in range(steps)]
    else:
        lo, hi = math.log10(low), math.log10(high)
        points = [10 ** (lo + (hi - lo) * i / (steps - 1)) for i in range(steps)]
    points[0], points[-1] = low, high  # the ends exactly as given, free of float drift
    return points


def _listed(key: str, kind: str, values: Any, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not values:
        raise _bad(where, f"{key}: values must be a non-empty list", "values: [0.1, 0.01]")
    out: list[str] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _bad(where, f"{key}: {value!r} is not a number or a word", "Quote it: 'true'.")
        text = _number(value) if isinstance(value, float) else str(value).strip()
        if not text:
            raise _bad(where, f"{key} has an empty value", _ENTRY_HINT)
        if kind == "integer":
            if not _INT.fullmatch(text):
                raise _bad(where, f"{key}: {text!r} is not a whole number", "Use type: float.")
            text = str(int(text))
        elif kind == "float" and not _is_number(text):
            raise _bad(where, f"{key}: {text!r} is not a number", "Use type: categorical.")
        out.append(text)
    return tuple(out)


def _is_number(text: str | float) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _real(entry: Mapping[str, Any], field: str, key: str, where: str) -> float:
    value = entry.get(field)
    if not isinstance(value, bool) and isinstance(value, int | float | str) and _is_number(value):
        return float(value)
    raise _bad(where, f"{key}: {field} must be a finite number, not {value!r}", _SPACED_HINT)


def _spaced(key: str, kind: str, entry: Mapping[str, Any], where: str) -> tuple[str, ...]:
    low, high = _real(entry, "min", key, where), _real(entry, "max", key, where)
    steps = entry.get("steps")
    if isinstance(steps, str) and _INT.fullmatch(steps.strip()):
        steps = int(steps)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_AXIS:
        raise _bad(where, f"{key}: steps must be 1 to {MAX_AXIS:,}, not {steps!r}", _SPACED_HINT)
    scale = entry.get("scale", "linear")
    if scale not in SCALES:
        raise _bad(where, f"{key}: unknown scale {scale!r}", f"Use one of {', '.join(SCALES)}.")
    if low > high:
        raise _bad(where, f"{key}: min {low:g} is over max {high:g}", "Swap them.")
    if scale != "linear" and low <= 0:
        raise _bad(where, f"{key}: a {scale} scale needs min > 0", "Use e.g. min: 0.0001.")
    points = _spread(low, high, steps, scale)
    if kind == "integer":
        return tuple(dict.fromkeys(str(math.floor(p + 0.5)) for p in points))
    return tuple(dict.fromkeys(_number(p) for p in points))


def axis_from_entry(entry: Any, *, where: str) -> ParamAxis:
    """One grid-file entry as an axis; a flow task's ``params`` entries use the same forms."""
    if not isinstance(entry, dict):
        raise _bad(where, "a parameter entry is not a mapping", _ENTRY_HINT)
    unknown = sorted(str(k) for k in entry if k not in _FIELDS)
    if unknown:
        raise _bad(where, f"unknown field(s) {', '.join(unknown)}", _ENTRY_HINT)
    if entry.get("key") in (None, ""):
        raise _bad(where, "a parameter entry has no key", _ENTRY_HINT)
    key = _check_key(str(entry["key"]), where, _ENTRY_HINT)
    kind = entry.get("type", "discrete")
    if kind not in TYPES:
        raise _bad(where, f"{key}: unknown type {kind!r}", f"Use one of {', '.join(TYPES)}.")
    spacing = [f for f in ("min", "max", "steps", "scale") if f in entry]
    if "values" in entry:
        if spacing:
            raise _bad(where, f"{key}: give values, or min/max/steps, not both", _ENTRY_HINT)
        return ParamAxis(key, _listed(key, kind, entry["values"], where))
    if kind == "categorical" or not spacing:
        raise _bad(where, f"{key}: no values given", "List them: values: [a, b].")
    return ParamAxis(key, _spaced(key, kind, entry, where))


# PyYAML (a project dependency: its node tree gives each entry's line for errors) is imported
# by the functions that read a grid file: `hw run` without `--grid` never loads it (issue 18).


def _child(node: yaml.Node | None, name: str) -> yaml.Node | None:
    import yaml

    found = None
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == name:
                found = v  # the last one wins, as in safe_load
    return found


def _written(node: yaml.Node | None) -> list[str] | None:
    """The entry's values as written (``yes`` stays yes, ``0.10`` stays 0.10); a null is ''."""
    import yaml

    seq = _child(node, "values")
    if not isinstance(seq, yaml.SequenceNode):
        return None
    if not all(isinstance(item, yaml.ScalarNode) for item in seq.value):
        return None
    return ["" if item.tag.endswith(":null") else item.value for item in seq.value]


def parse_grid_file(text: str, *, source: str) -> list[ParamAxis]:
    """cnvrg's grid file: ``parameters:`` a list of entries; errors name ``source:line``."""
    import yaml

    from headwater.domain import boundedyaml

    try:
        root = boundedyaml.compose(text, source=source)
        data = boundedyaml.safe_load(text, source=source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or exc
        raise _bad(f"{source}:{line}", f"not valid YAML: {problem}", "Fix that line.") from None
    if not isinstance(data, dict) or not isinstance(data.get("parameters"), list):
        raise _bad(
            f"{source}:1",
            "a grid file needs a top-level 'parameters:' list",
            "parameters:\n  - key: lr\n    type: discrete\n    values: [0.1, 0.01]",
        )
    seq = _child(root, "parameters")
    nodes = list(seq.value) if isinstance(seq, yaml.SequenceNode) else []
    axes: list[ParamAxis] = []
    first: dict[str, int] = {}
    for i, entry in enumerate(data["parameters"]):
        node = nodes[i] if i < len(nodes) else None
        line = node.start_mark.line + 1 if node is not None else 1
        written = _written(node)
        if isinstance(entry, dict) and written is not None:
            entry = {**entry, "values": written}
        axis = axis_from_entry(entry, where=f"{source}:{line}")
        if axis.key in first:
            detail = f"{axis.key!r} is given twice (first at line {first[axis.key]})"
            raise _bad(f"{source}:{line}", detail, "Give each parameter once, with all its values.")
        first[axis.key] = line
        axes.append(axis)
    return axes


def combinations(axes: Sequence[ParamAxis], *, limit: int = 10_000) -> list[dict[str, str]]:
    """Every combination, the first axis varying slowest; no axes give one empty run."""
    seen: set[str] = set()
    for axis in axes:
        if axis.key in seen:
            raise _bad(
                axis.key, f"{axis.key!r} is given twice", "Give it once: --param lr=0.1,0.01."
            )
        seen.add(axis.key)
    count = math.prod(len(a.values) for a in axes)
    if count > limit:
        raise _bad(
            "parameters",
            f"the grid makes {count:,} experiments, more than the limit of {limit:,}",
            "Use fewer values per parameter, or split the grid into several runs.",
        )
    keys = [a.key for a in axes]
    return [
        dict(zip(keys, combo, strict=True))
        for combo in itertools.product(*(a.values for a in axes))
    ]


def command_with_params(command: str, params: Mapping[str, str]) -> str:
    """cnvrg appends each parameter to the command as ``--key value``, quoted for the shell."""
    tail = "".join(f" {shlex.quote('--' + k)} {shlex.quote(v)}" for k, v in params.items())
    return command + tail


def tag_env(params: Mapping[str, str]) -> dict[str, str]:
    """``HW_TAG_<KEY>`` for each parameter (seed 002's ``CNVRG_TAG_<KEY>``)."""
    return {"HW_TAG_" + env_part(k): v for k, v in params.items()}

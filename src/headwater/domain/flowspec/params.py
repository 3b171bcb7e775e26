"""A task's ``params`` entries (seed 002, Parameter fields) read into grid axes.

Three ways to give values: a scalar (``value: "data.csv"``; commas in it give several values,
as the seed's CSV tip says), an array (``value: [3, 5, 12]``) or a block list. cnvrg's grid-file
forms work too (``values:`` with a ``type``, or ``min``/``max``/``steps``/``scale``), read by
``grid.axis_from_entry`` so the two grammars cannot drift.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic_core import PydanticCustomError

from headwater.domain.errors import InvalidInput
from headwater.domain.grid import ParamAxis, axis_from_entry

ENTRY_KEYS = ("key", "value", "values", "type", "min", "max", "steps", "scale")
_INT = re.compile(r"[-+]?\d+")
_HINT = (
    "Each entry: key: NAME and value: a value, [v1, v2] or a list; or cnvrg's grid form "
    "(type, values | min, max, steps, scale)."
)


def fail(detail: str, hint: str, key: str | None = None) -> PydanticCustomError:
    """A validation error that keeps our words; ``key`` points below the failing item."""
    return PydanticCustomError(
        "flowspec", "{detail}", {"detail": detail, "hint": hint, "subkey": key or ""}
    )


def _values(raw: Any, key: str, *, split: bool) -> list[str]:
    if isinstance(raw, list):
        items = raw
    elif isinstance(raw, str):
        items = raw.split(",") if split else [raw]
    else:
        raise fail(f"parameter {key!r} has no value", _HINT, "value")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise fail(f"parameter {key!r}: a value is a list or a mapping", _HINT, "value")
        if not item.strip():
            raise fail(f"parameter {key!r} has an empty value", _HINT, "value")
        out.append(item.strip())
    return out


def param_axis(entry: Any) -> ParamAxis:
    """One ``params`` entry as an axis; raises errors that name the entry's key."""
    if isinstance(entry, ParamAxis):
        return entry
    if not isinstance(entry, dict):
        raise fail("a params entry is not a mapping", _HINT)
    for name in entry:
        if name not in ENTRY_KEYS:
            raise fail(f"unknown key {name!r} in a params entry", _HINT, name)
    key = entry.get("key")
    if not isinstance(key, str) or not key.strip():
        raise fail("a params entry has no key", _HINT, "key")
    kind = entry.get("type") or "discrete"
    grid: dict[str, Any] = {"key": key.strip(), "type": kind}
    if "value" in entry:
        extra = sorted(set(entry) - {"key", "value", "type"})
        if extra:
            raise fail(f"parameter {key!r}: 'value' goes alone, not with {extra[0]!r}", _HINT)
        grid["values"] = _values(entry["value"], key, split=not isinstance(entry["value"], list))
    elif "values" in entry:
        grid["values"] = _values(entry["values"], key, split=False)
    else:
        grid.update({k: v for k, v in entry.items() if k in ("min", "max", "steps", "scale")})
        if "min" not in grid:
            raise fail(f"parameter {key!r} has no value", _HINT, "key")
    if kind == "integer" and "values" in grid:
        grid["values"] = [int(v) if _INT.fullmatch(v) else v for v in grid["values"]]
    try:
        return axis_from_entry(grid, where="params")  # strings stay as written
    except InvalidInput as exc:
        raise fail(exc.detail, exc.hint or _HINT) from None

"""Which column a name means, and what a comparison with it compares.

A name with a prefix says where it lives: ``params.lr``, ``tags.stage``, ``metrics.loss`` (the
latest value logged), ``metrics.loss.min``, ``metrics.loss.max``. A bare name is a built-in
column (number, title, status, created, started, ended, duration) if it is one, else a param,
else a metric (``loss.min`` too), else a tag, of the project's experiments (``Catalog``): tags
often repeat params, and params win. A name no experiment has is refused with the names that
are close, so a typo never quietly matches nothing.

A comparison with an unquoted number compares numbers (a param or tag that is not a number has
none: the row does not match); with quoted text or a word, text. Metrics are numbers only.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from headwater.domain.errors import InvalidInput
from headwater.domain.jobs import JobState
from headwater.domain.runquery.nodes import (
    Agg,
    AllOf,
    AnyOf,
    Builtin,
    Column,
    Compare,
    Condition,
    Name,
    Node,
    Not,
    Op,
    Operand,
    Source,
    Value,
)
from headwater.domain.runquery.syntax import parse_filter, parse_name, syntax_error

PREFIXES = {
    "params": Source.PARAM,
    "param": Source.PARAM,
    "tags": Source.TAG,
    "tag": Source.TAG,
    "metrics": Source.METRIC,
    "metric": Source.METRIC,
}
# the listing's older sort names keep working
ALIASES = {
    "state": Builtin.STATUS,
    "created_at": Builtin.CREATED,
    "started_at": Builtin.STARTED,
    "ended_at": Builtin.ENDED,
}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)([smhd])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
BUILTIN_NAMES = ", ".join(b.value for b in Builtin)


@dataclass(frozen=True)
class Catalog:
    """The param, tag and metric keys the project's experiments have."""

    params: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    metrics: frozenset[str] = frozenset()


def filter_of(text: str | None, catalog: Catalog) -> Node | None:
    """A filter's text, parsed and resolved; ``None`` when empty (every experiment)."""
    if not text or not text.strip():
        return None
    tree = parse_filter(text)
    return None if tree is None else resolve(tree, catalog)


def sort_of(text: str, catalog: Catalog) -> Column:
    """The column a listing is sorted by."""
    name = parse_name(text)
    return column_of(name, catalog, where="sort")


def resolve(node: Node, catalog: Catalog) -> Node:
    """Every ``Compare`` of the tree turned into a ``Condition``."""
    if isinstance(node, Compare):
        column = column_of(node.name, catalog)
        return Condition(column, node.op, operand_of(column, node.op, node.value))
    if isinstance(node, Not):
        return Not(resolve(node.item, catalog))
    if isinstance(node, AllOf):
        return AllOf(tuple(resolve(i, catalog) for i in node.items))
    if isinstance(node, AnyOf):
        return AnyOf(tuple(resolve(i, catalog) for i in node.items))
    return node


def column_of(name: Name, catalog: Catalog, where: str | None = None) -> Column:
    parts = name.parts
    spot = where or f"filter, column {name.at}"
    source = PREFIXES.get(parts[0].lower()) if len(parts) > 1 else None
    if source is not None:
        return _prefixed(source, parts[1:], catalog, spot)
    full = ".".join(parts)
    builtin = _builtin(full)
    if builtin is not None:
        return Column(Source.BUILTIN, builtin.value)
    if full in catalog.params:
        return Column(Source.PARAM, full)
    metric = _metric(parts, catalog)
    if metric is not None:
        return metric
    if full in catalog.tags:
        return Column(Source.TAG, full)
    raise _unknown(full, None, catalog, spot)


def _builtin(name: str) -> Builtin | None:
    lowered = name.lower()
    if lowered in ALIASES:
        return ALIASES[lowered]
    return next((b for b in Builtin if b.value == lowered), None)


def _metric(parts: tuple[str, ...], catalog: Catalog) -> Column | None:
    """``loss`` or ``loss.min`` when loss is a metric (a key that ends in .min itself wins)."""
    full = ".".join(parts)
    if full in catalog.metrics:
        return Column(Source.METRIC, full)
    stem = ".".join(parts[:-1])
    if len(parts) > 1 and parts[-1] in Agg.__members__.values() and stem in catalog.metrics:
        return Column(Source.METRIC, stem, Agg(parts[-1]))
    return None


def _prefixed(source: Source, rest: tuple[str, ...], catalog: Catalog, where: str) -> Column:
    if source is Source.METRIC:
        found = _metric(rest, catalog)
        if found is not None:
            return found
        stem = rest[:-1] if len(rest) > 1 and rest[-1] in Agg.__members__.values() else rest
        raise _unknown(".".join(stem), source, catalog, where)
    key = ".".join(rest)
    known = catalog.params if source is Source.PARAM else catalog.tags
    if key not in known:
        raise _unknown(key, source, catalog, where)
    return Column(source, key)


def _unknown(key: str, source: Source | None, catalog: Catalog, where: str) -> InvalidInput:
    pools = {Source.PARAM: catalog.params, Source.METRIC: catalog.metrics, Source.TAG: catalog.tags}
    names = [f"{s.value}.{k}" for s, pool in pools.items() if source in (None, s) for k in pool]
    candidates = sorted(
        {k for s, pool in pools.items() if source in (None, s) for k in pool}
        | ({b.value for b in Builtin} if source is None else set())
    )
    close = difflib.get_close_matches(key, candidates, n=3, cutoff=0.6)
    what = f"no {source.value[:-1]} {key!r}" if source else f"no column {key!r}"
    hint = f"Did you mean {' or '.join(close)}? " if close else ""
    shown = ", ".join(sorted(names)[:12]) or "none yet"
    hint += f"Built-in columns: {BUILTIN_NAMES}; this project's experiments have: {shown}."
    return InvalidInput(f"{what} in this project's experiments", where=where, hint=hint)


def operand_of(column: Column, op: Op, value: Value) -> Operand:
    """The value a comparison with ``column`` compares, checked for its type."""
    where = value.at
    if column.source is Source.METRIC:
        return _number(column, value, "a number, e.g. `accuracy >= 0.9`")
    if column.source in (Source.PARAM, Source.TAG):
        number = value.number
        return value.text if number is None else number
    builtin = Builtin(column.key)
    if builtin is Builtin.STATUS:
        return _state(op, value)
    if builtin is Builtin.TITLE:
        return value.text
    if builtin is Builtin.NUMBER:
        number = value.number
        if number is None or number != int(number):
            raise syntax_error(
                f"number is compared with a whole number, not {value.text!r}",
                where,
                "Write e.g. `number > 100`.",
            )
        return number
    if builtin is Builtin.DURATION:
        return _duration(value)
    return _time(column, value)


def _number(column: Column, value: Value, example: str) -> float:
    number = value.number
    if number is None:
        raise syntax_error(
            f"{column.spelled} holds numbers; {value.text!r} is not one",
            value.at,
            f"Compare it with {example} (no quotes).",
        )
    return number


def _state(op: Op, value: Value) -> JobState:
    states = ", ".join(s.value for s in JobState)
    if op not in (Op.EQ, Op.NE):
        raise syntax_error(
            f"status is compared with == or !=, not {op.value}",
            value.at,
            f"Write e.g. `status == failed` or `status != success` (states: {states}).",
        )
    try:
        return JobState(value.text.lower())
    except ValueError:
        raise syntax_error(
            f"{value.text!r} is not a state", value.at, f"States: {states}."
        ) from None


def _duration(value: Value) -> float:
    number = value.number
    if number is not None:
        return number
    match = _DURATION.fullmatch(value.text.strip().lower())
    if match is None:
        raise syntax_error(
            f"{value.text!r} is not a duration",
            value.at,
            "Give seconds (`duration > 90`) or a number with s, m, h or d (`duration > 5m`).",
        )
    return float(match.group(1)) * _SECONDS[match.group(2)]


def _time(column: Column, value: Value) -> datetime:
    try:
        when = datetime.fromisoformat(value.text.strip())
        when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise syntax_error(
            f"{value.text!r} is not a date or time",
            value.at,
            f"Write an ISO date or time in UTC: `{column.key} > 2026-01-31` or "
            f'`{column.key} >= "2026-01-31 12:00"`.',
        ) from None
    return when

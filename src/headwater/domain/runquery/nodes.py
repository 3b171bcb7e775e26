"""The nodes of a filter: as written (``Compare`` of a ``Name``) and as resolved against a
project's experiments (``Condition`` on a ``Column``), joined by
``AllOf``, ``AnyOf`` and ``Not``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from headwater.domain.jobs import JobState

NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def number_in(text: str) -> float | None:
    """The finite number a param's or tag's text reads as, if it reads as one."""
    if not NUMBER.fullmatch(text.strip()):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


class Op(StrEnum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


class Source(StrEnum):
    """Where a column's values live."""

    BUILTIN = "builtin"
    PARAM = "params"
    TAG = "tags"
    METRIC = "metrics"


class Agg(StrEnum):
    """Which value of a metric's series: the last logged, the lowest or the highest."""

    LATEST = "latest"
    MIN = "min"
    MAX = "max"


class Builtin(StrEnum):
    NUMBER = "number"
    TITLE = "title"
    STATUS = "status"
    CREATED = "created"
    STARTED = "started"
    ENDED = "ended"
    DURATION = "duration"


@dataclass(frozen=True)
class Column:
    """One resolved column: ``Column(Source.METRIC, "loss", Agg.MIN)`` is metrics.loss.min."""

    source: Source
    key: str
    agg: Agg = Agg.LATEST

    @property
    def spelled(self) -> str:
        """The canonical name, the one the UI keeps and the API echoes."""
        if self.source is Source.BUILTIN:
            return self.key
        quoted = self.key if re.fullmatch(r"[A-Za-z0-9_\-/]+", self.key) else f"`{self.key}`"
        tail = (
            f".{self.agg.value}" if self.source is Source.METRIC and self.agg != Agg.LATEST else ""
        )
        return f"{self.source.value}.{quoted}{tail}"


@dataclass(frozen=True)
class Name:
    """A column as written: ``params.lr`` is ("params", "lr"), ``metrics.loss.min`` three parts."""

    parts: tuple[str, ...]
    at: int = field(default=1, compare=False)


@dataclass(frozen=True)
class Value:
    """The right-hand side as written; ``number`` is set for an unquoted finite number."""

    text: str
    quoted: bool
    at: int = field(default=1, compare=False)

    @property
    def number(self) -> float | None:
        return None if self.quoted or self.text != self.text.strip() else number_in(self.text)


@dataclass(frozen=True)
class Compare:
    """A comparison as written."""

    name: Name
    op: Op
    value: Value


Operand = float | str | datetime | JobState


@dataclass(frozen=True)
class Condition:
    """A comparison resolved: a float operand compares numbers, a str text."""

    column: Column
    op: Op
    operand: Operand


@dataclass(frozen=True)
class AllOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Compare | Condition | AllOf | AnyOf | Not

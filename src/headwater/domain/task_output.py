"""Lines a task prints that mean something: tags and chart points (seed 002).

``hw_tag_<key>: <value>`` records a tag; ``hw_linechart_<chart> value: <v>`` adds a point to
a chart (cnvrg's ``cnvrg_`` spellings work too). This runs on every line of a task's output,
so the common case, a line that is neither, costs one ``startswith``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIXES = ("hw_", "cnvrg_")
MAX_KEY = 100
MAX_VALUE = 10_000
MAX_LINE = 1024 * 1024

_TAG = re.compile(r"(?:hw|cnvrg)_tag_([A-Za-z0-9_.-]+)\s*:\s?(.*)")
_CHART = re.compile(
    r"(?:hw|cnvrg)_linechart_([A-Za-z0-9_.-]+)"
    r"(?:\s+group:\s*\"?([^\"]*?)\"?)?\s+value:\s*([-+0-9.eEinfINFaN]+)\s*"
)


@dataclass(frozen=True)
class TagLine:
    key: str
    value: str


@dataclass(frozen=True)
class ChartPoint:
    chart: str
    value: float
    series: str | None = None


def parse_line(line: str) -> TagLine | ChartPoint | None:
    """A tag, a chart point, or None for anything else (malformed lines included)."""
    line = line.strip()
    if not line.startswith(PREFIXES):
        return None
    tag = _TAG.fullmatch(line)
    if tag is not None:
        key, value = tag[1], tag[2].strip()
        if len(key) > MAX_KEY or len(value) > MAX_VALUE:
            return None
        return TagLine(key, value)
    chart = _CHART.fullmatch(line)
    if chart is None or len(chart[1]) > MAX_KEY:
        return None
    try:
        value = float(chart[3])
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return ChartPoint(chart[1], value, chart[2] or None)


class LineSplitter:
    """Bytes in, complete lines out; the partial tail waits for the next chunk. A line longer
    than ``MAX_LINE`` is cut, so memory stays bounded whatever a task prints."""

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, data: bytes) -> list[str]:
        buffer = self._tail + data
        parts = buffer.split(b"\n")
        self._tail = parts.pop()
        lines = [p.decode("utf-8", errors="replace") for p in parts]
        while len(self._tail) > MAX_LINE:
            lines.append(self._tail[:MAX_LINE].decode("utf-8", errors="replace"))
            self._tail = self._tail[MAX_LINE:]
        return lines

    def flush(self) -> list[str]:
        tail, self._tail = self._tail, b""
        return [tail.decode("utf-8", errors="replace")] if tail else []

"""Lines a task prints that mean something: tags and chart points (seed 002).

``hw_tag_<key>: <value>`` records a tag; ``hw_linechart_<chart> value: <v>`` adds a point to a
chart, and ``hw_linechart_<chart> group: "<series>" value: <v>`` one to a series of it (cnvrg's
``cnvrg_`` spellings work too). This runs on every line of a task's output, so the common case,
a line that is neither, costs one ``startswith``; a malformed line is plain text, never an error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from headwater.domain.naming import value_key_problem

PREFIXES = ("hw_", "cnvrg_")
MAX_KEY = 255  # naming.VALUE_KEY_MAX: tags and parameters share one key rule
MAX_VALUE = 10_000
MAX_LINE = 1024 * 1024
# no meaningful line is longer; the cap also bounds the work the patterns below can do
_MAX_MEANINGFUL = 2 * (MAX_KEY + MAX_VALUE)

_TAG = re.compile(r"(?:hw|cnvrg)_tag_(.*)")
_CHART = re.compile(r"(?:hw|cnvrg)_linechart_([A-Za-z0-9_.-]+)(\s.*)")
# cnvrg also takes an x value (key:) and axis titles (x:, y:); they are read and left out
_OPTION = re.compile(r"(group|key|x|y):\s*")
_NEXT_OPTION = re.compile(r"\s+(?:group|key|x|y):")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # NUL and the like: not storable text


@dataclass(frozen=True)
class TagLine:
    """``hw_tag_<key>: <value>``: later tasks see it as ``HW_<TASK>_<KEY>``, conditions test it."""

    key: str
    value: str


@dataclass(frozen=True)
class ChartPoint:
    """One point of a line chart; ``series`` is cnvrg's ``group`` (several lines, one chart)."""

    chart: str
    value: float
    series: str | None = None


def parse_line(line: str) -> TagLine | ChartPoint | None:
    """A tag, a chart point, or None for anything else (malformed lines included)."""
    line = line.lstrip()
    if not line.startswith(PREFIXES) or len(line) > _MAX_MEANINGFUL:
        return None
    line = line.rstrip()
    tag = _TAG.fullmatch(line)
    if tag is not None:
        return _tag(tag[1])
    chart = _CHART.fullmatch(line)
    if chart is None or len(chart[1]) > MAX_KEY:
        return None
    return _chart_point(chart[1], chart[2])


def _tag(rest: str) -> TagLine | None:
    """``<key>: <value>``: the key is everything up to the first ``": "`` (so it may hold
    spaces, dots or colons, as cnvrg's ``model accuracy``); ``key:value`` with no space
    and ``key :value`` still read as before."""
    key, sep, value = rest.partition(": ")
    if not sep:
        key, sep, value = rest.partition(":")
        if not sep:
            return None
    key, value = key.rstrip(), value.strip()
    if "\ufffd" in key:  # what undecodable bytes become: not a name the task meant
        return None
    if value_key_problem(key) is not None or len(value) > MAX_VALUE or _CONTROL.search(value):
        return None
    return TagLine(key, value)  # an empty value is a tag too: the task said so


def _chart_point(chart: str, rest: str) -> ChartPoint | None:
    options, sep, number = rest.rpartition("value:")
    if not sep or not options[-1:].isspace():  # "value:" must stand apart from what precedes
        return None
    found = _options(options.strip())
    value = _number(_unquote(number.strip()))
    if found is None or value is None:
        return None
    series = found.get("group") or None
    if series is not None and (len(series) > MAX_KEY or _CONTROL.search(series)):
        return None
    return ChartPoint(chart, value, series)


def _options(text: str) -> dict[str, str] | None:
    """``group: "a" key: epoch 1`` as a dict, read left to right in one pass (a quoted value
    may hold anything but its quote; a bare one runs to the next option)."""
    found: dict[str, str] = {}
    pos, end = 0, len(text)
    while pos < end:
        option = _OPTION.match(text, pos)
        if option is None:
            return None
        pos = option.end()
        if pos < end and text[pos] in "\"'":
            close = text.find(text[pos], pos + 1)
            if close < 0:
                return None
            value, pos = text[pos + 1 : close], close + 1
        else:
            following = _NEXT_OPTION.search(text, pos)
            stop = following.start() if following is not None else end
            value, pos = text[pos:stop].strip(), stop
        found[option[1]] = value
        while pos < end and text[pos].isspace():
            pos += 1
    return found


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].strip()
    return text


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _cut(buffer: bytes | bytearray, limit: int) -> int:
    """Where to end a piece of at most ``limit`` bytes without splitting a UTF-8 character."""
    cut = limit
    while cut > max(limit - 3, 1) and buffer[cut] & 0xC0 == 0x80:  # 0b10xxxxxx: continuation
        cut -= 1
    return cut


class LineSplitter:
    """Bytes in, complete lines out (without their ``\\n``); the partial tail waits for the
    next chunk. A line longer than ``max_line`` bytes comes out in pieces, so memory stays
    bounded whatever a task prints, and a piece never splits a character."""

    def __init__(self, *, max_line: int = MAX_LINE) -> None:
        if max_line < 4:
            raise ValueError("max_line must hold a whole UTF-8 character (4 bytes)")
        self.max_line = max_line
        self._tail = bytearray()

    def feed(self, data: bytes) -> list[str]:
        lines: list[str] = []
        start = 0
        while (newline := data.find(b"\n", start)) >= 0:
            if self._tail:
                self._tail += data[start:newline]
                self._pieces(bytes(self._tail), lines)
                self._tail.clear()
            else:
                self._pieces(data[start:newline], lines)
            start = newline + 1
        self._tail += data[start:]
        while len(self._tail) > self.max_line:
            cut = _cut(self._tail, self.max_line)
            lines.append(self._tail[:cut].decode("utf-8", errors="replace"))
            del self._tail[:cut]
        return lines

    def flush(self) -> list[str]:
        """The last line, when the output did not end with a newline."""
        lines: list[str] = []
        if self._tail:
            self._pieces(bytes(self._tail), lines)
            self._tail.clear()
        return lines

    def _pieces(self, line: bytes, out: list[str]) -> None:
        start = 0
        while len(line) - start > self.max_line:
            cut = start + _cut(line[start : start + self.max_line + 1], self.max_line)
            out.append(line[start:cut].decode("utf-8", errors="replace"))
            start = cut
        out.append(line[start:].decode("utf-8", errors="replace"))

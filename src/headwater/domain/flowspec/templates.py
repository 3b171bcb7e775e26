"""``{{ task name.tag name }}`` in a parameter: a tag of an earlier task, case and spaces kept.

``{{ task name.tag name | hyper }}`` instead makes one instance per value of that tag (a
dynamic route). The seed prints the braces as ``{ { ... } }``; both spellings are read.
Titles may hold dots, so the task part is the longest known title that fits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

_REF = re.compile(r"\{\s*\{(?P<body>[^{}]*)\}\s*\}")
HYPER = "hyper"


@dataclass(frozen=True)
class Ref:
    """One reference inside a value; ``start``/``end`` locate it for substitution."""

    task: str
    tag: str
    filter: str | None  # "hyper", or something unknown that a check reports
    start: int
    end: int

    @property
    def hyper(self) -> bool:
        return self.filter == HYPER

    def __str__(self) -> str:
        tail = f" | {self.filter}" if self.filter else ""
        return f"{{{{ {self.task}.{self.tag}{tail} }}}}"


def _split(name: str, titles: Collection[str]) -> tuple[str, str]:
    fits = [t for t in titles if name.startswith(t + ".") and len(name) > len(t) + 1]
    if fits:
        task = max(fits, key=len)
        return task, name[len(task) + 1 :].strip()
    task, _, tag = name.partition(".")
    return task.strip(), tag.strip()


def find_refs(text: str, titles: Collection[str] = ()) -> list[Ref]:
    """Every ``{{ ... }}`` in ``text``; the task part is matched against ``titles``."""
    refs = []
    for found in _REF.finditer(text):
        name, bar, filt = found["body"].partition("|")
        task, tag = _split(name.strip(), titles)
        refs.append(Ref(task, tag, filt.strip() if bar else None, found.start(), found.end()))
    return refs


def has_refs(text: str) -> bool:
    return _REF.search(text) is not None


def substitute(text: str, refs: list[Ref], value: Callable[[Ref], str]) -> str:
    """``text`` with each of ``refs`` (from ``find_refs(text)``) replaced by ``value(ref)``."""
    if not refs:
        return text
    out, last = [], 0
    for ref in refs:
        out += [text[last : ref.start], value(ref)]
        last = ref.end
    out.append(text[last:])
    return "".join(out)

"""YAML text to plain data, with the line of every key, so each error can name line and key.

Plain scalars are kept as the text the user wrote (``0123`` stays ``"0123"``, ``1e-3`` stays
``"1e-3"``); the models' typed fields convert them (``top: 5`` -> 5, ``prerun: no`` -> False).
That keeps commit ids, parameter values and titles exactly as written, and makes a value
written by ``to_yaml`` read back as the same value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml  # PyYAML: its node tree carries the marks that give line numbers

from headwater.domain import boundedyaml
from headwater.domain.errors import InvalidInput

Path = tuple[str | int, ...]
_NULL = "tag:yaml.org,2002:null"


def dotted(path: Path) -> str:
    """``("tasks", 2, "params", 0)`` -> ``tasks[2].params[0]``: the key, spelled for people."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


@dataclass(frozen=True)
class SourceMap:
    """Where each key and list item of a flow file starts."""

    source: str
    lines: Mapping[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int:
        """The line of ``path``, or of its nearest ancestor that has one (a missing key)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def where(self, path: Path, line: int | None = None) -> str:
        return f"{self.source}:{line or self.line(path)} {dotted(path)}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a flow file: which key, what, and how to fix it."""

    path: Path
    detail: str
    hint: str
    line: int | None = None  # when the path's own line is not the one at fault (a repeat)


class FlowSpecError(InvalidInput):
    """Every problem found in one flow file; ``where`` and ``hint`` are the first one's.

    The detail lists all of them, one per line, each as ``FILE:LINE key: what (hint)``, so a
    user fixes the file in one round instead of one error per attempt.
    """

    def __init__(self, problems: Iterable[Problem], smap: SourceMap) -> None:
        self.problems = tuple(problems)
        self.source_map = smap
        first = self.problems[0]
        if len(self.problems) == 1:
            detail = first.detail
        else:
            lines = [f"{len(self.problems)} problems in {smap.source}:"]
            lines += [
                f"- {smap.where(p.path, p.line)}: {p.detail} ({p.hint})" for p in self.problems
            ]
            detail = "\n".join(lines)
        super().__init__(detail, where=smap.where(first.path, first.line), hint=first.hint)

    def wheres(self) -> list[str]:
        """``FILE:LINE key`` of each problem, in file order."""
        return [self.source_map.where(p.path, p.line) for p in self.problems]


def _build(node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[Problem]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _NULL and node.style is None:
            return None
        return str(node.value)
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, problems) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(_non_scalar_key(node, key_node, path))
                continue
            key = str(key_node.value)
            here = (*path, key)
            if key in out:
                first = lines[here]
                problems.append(
                    Problem(
                        here,
                        f"key {key!r} is given twice (first on line {first})",
                        "Give each key once.",
                        key_node.start_mark.line + 1,
                    )
                )
                continue
            lines[here] = key_node.start_mark.line + 1
            out[key] = _build(value_node, here, lines, problems)
        return out
    return None  # pragma: no cover - PyYAML has no other node kinds


def _non_scalar_key(node: yaml.MappingNode, key: yaml.Node, path: Path) -> Problem:
    """``value: { { A.x } }`` unquoted is YAML for a mapping whose key is a mapping: what the
    user meant is a ``{{ }}`` reference, so say to quote it, with the text they wrote."""
    if node.flow_style and isinstance(key, yaml.MappingNode):
        mark, end = node.start_mark, node.end_mark
        buffer = getattr(mark, "buffer", None)
        written = buffer[mark.index : end.index] if isinstance(buffer, str) else "{{ task.tag }}"
        field = path[-1] if path and isinstance(path[-1], str) else "value"
        return Problem(
            path,
            f"{written} is read as a YAML mapping, not as text: braces that start a value "
            "must be quoted",
            f'Quote the value: {field}: "{written}".',
            mark.line + 1,
        )
    return Problem(
        path, "a key is a list or a mapping", "Keys are plain words.", key.start_mark.line + 1
    )


def load(text: str, *, source: str) -> tuple[Any, SourceMap]:
    """Plain data and its source map; YAML syntax errors, repeated keys and documents past the
    limits of ``boundedyaml`` (aliases that expand too far, nesting too deep) raise here."""
    lines: dict[Path, int] = {}
    smap = SourceMap(source, lines)
    try:
        root = boundedyaml.compose(text, source=source)
    except boundedyaml.YamlTooLarge as exc:
        raise FlowSpecError(
            [Problem((), exc.detail, exc.hint or "", exc.line)], SourceMap(source, {(): exc.line})
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        context = getattr(exc, "context", None)
        problem = str(getattr(exc, "problem", None) or exc)
        problem = f"{context}: {problem}" if context else problem
        raise FlowSpecError(
            [Problem((), f"not valid YAML: {problem}", _yaml_hint(problem))],
            SourceMap(source, {(): line}),
        ) from None
    if root is None:
        return None, smap
    problems: list[Problem] = []
    data = _build(root, (), lines, problems)
    if problems:
        raise FlowSpecError(problems, smap)
    return data, smap


def _yaml_hint(problem: str) -> str:
    if "alias" in problem or "anchor" in problem:
        return 'Quote values that start with * or &, e.g. recurring: "30 * * * *".'
    return "Fix the YAML syntax at that line (indentation, a missing ':' or quote)."

"""Small builders for flow tests: files from fixtures, flows from plain dicts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from headwater.domain.flowspec import Flow

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def exec_task(title: str, grid: int = 1, **extra: Any) -> dict[str, Any]:
    """An exec task whose own grid has ``grid`` combinations (one parameter)."""
    task: dict[str, Any] = {"title": title, "type": "exec", "input": "true", "computes": ["c"]}
    if grid > 1:
        task["params"] = [{"key": "i", "values": [str(n) for n in range(grid)]}]
    return task | extra


def flow_of(tasks: list[dict[str, Any]], edges: Sequence[tuple[str, str]] = ()) -> Flow:
    return Flow.model_validate(
        {
            "flow": "test",
            "tasks": tasks,
            "relations": [{"from": a, "to": b} for a, b in edges],
        }
    )


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the ``nth`` line of ``text`` that contains ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]

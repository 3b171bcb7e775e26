"""Executors by name: built-in ones, and others from the ``headwater.executors`` entry points."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from headwater.domain.errors import InvalidInput
from headwater.executors.base import Executor

BUILTIN = {
    "local": "headwater.executors.local:LocalExecutor",
    "fake": "headwater.executors.fake:FakeExecutor",
    "ray": "headwater.executors.rayserve:RayServeExecutor",
}


def _load(target: str) -> Callable[..., Executor]:
    module, _, attr = target.partition(":")
    factory: Callable[..., Executor] = getattr(import_module(module), attr)
    return factory


def available() -> dict[str, str]:
    found = dict(BUILTIN)
    for ep in entry_points(group="headwater.executors"):
        found.setdefault(ep.name, ep.value)
    return found


def create(name: str, **options: Any) -> Executor:
    known = available()
    if name not in known:
        raise InvalidInput(
            f"no executor named {name!r}",
            where="executor",
            hint="Use one of: " + ", ".join(sorted(known)) + ".",
        )
    return _load(known[name])(**options)

"""What the global options decide for every command, and the SDK client built from it.

Commands never build a ``Client`` themselves: ``connect()`` does, so the global ``--project``
and a command's own ``--project`` mean the same thing everywhere.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from headwater.client import Client


@dataclass(frozen=True)
class GlobalOptions:
    debug: bool = False
    project: str | None = None


PYDANTIC_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"

_OPTIONS: ContextVar[GlobalOptions | None] = ContextVar("headwater_cli_options", default=None)

ProjectOption = Annotated[
    str | None,
    typer.Option(
        "--project",
        "-p",
        help="Project ID to act on instead of the active one (`hw configure`); "
        "overrides HEADWATER_PROJECT.",
        show_default=False,
    ),
]


def remember(options: GlobalOptions) -> None:
    """Called once by the root callback, before any command runs."""
    _OPTIONS.set(options)


def options() -> GlobalOptions:
    return _OPTIONS.get() or GlobalOptions()


def connect(project: str | None = None) -> Client:
    """A client for the configured server; ``project`` beats the global ``--project``, which
    beats ``HEADWATER_PROJECT``, which beats the active project in ``config.json``."""
    # Pydantic looks for plugins (code that watches every validation) in the entry points of
    # every installed distribution the first time a model is built: 8-15 ms here that a
    # command line never needs. The caller's own setting wins; `hw server` never comes here.
    os.environ.setdefault(PYDANTIC_PLUGINS, "__all__")
    from headwater.client import Client  # not at import: ``hw --version`` needs no SDK

    return Client(project=project or options().project)

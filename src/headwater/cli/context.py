"""What the global options decide for every command, and the SDK client built from it.

Commands never build a ``Client`` themselves: ``connect()`` does, so the global ``--project``
and a command's own ``--project`` mean the same thing everywhere.
"""

from __future__ import annotations

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
    from headwater.client import Client  # not at import: ``hw --version`` needs no SDK

    return Client(project=project or options().project)

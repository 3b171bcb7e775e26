"""The one output helper: a JSON document on stdout with ``--json``, Rich text otherwise.

The rule it keeps for every command: with ``--json`` stdout holds exactly one JSON document
and nothing else, so ``hw ... --json | jq`` always works; people get tables and sentences.
Errors and warnings go to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from headwater.domain.access import ResourceType

if TYPE_CHECKING:  # Rich and the schemas load when something is rendered, not at start-up
    from rich.console import Console, RenderableType
    from rich.table import Table
    from rich.text import Text

    from headwater.schemas.common import Page
    from headwater.schemas.projects import AccessOut
    from headwater.schemas.versions import CommitOut

T = TypeVar("T")
RESOURCES = tuple(r.value for r in ResourceType)  # files, jobs, datasets, models

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")
]

PIPE_WIDTH = 4096  # off a terminal: wide enough that no table row is folded


@cache
def _console_class() -> type[Console]:
    from rich.console import Console, ConsoleDimensions

    class _Console(Console):
        """Rich's console, except off a terminal (a pipe, a file, CI) without ``COLUMNS``:
        there Rich assumes 80 columns and folds table cells (``accurac``/``y=0.900``), which
        breaks ``grep`` and scripts; a table is as wide as its content instead."""

        @property
        def size(self) -> ConsoleDimensions:
            found = Console.size.fget(self)  # type: ignore[attr-defined]
            if self._width is None and not self.is_terminal and "COLUMNS" not in os.environ:
                return ConsoleDimensions(PIPE_WIDTH, found.height)
            return found  # type: ignore[no-any-return]

        @size.setter
        def size(self, new_size: tuple[int, int]) -> None:
            Console.size.fset(self, new_size)  # type: ignore[attr-defined]

    return _Console


@cache
def stdout() -> Console:
    """The Rich console on stdout, built (and Rich imported) on first use."""
    return _console_class()(highlight=False)


@cache
def stderr() -> Console:
    """The Rich console on stderr, for warnings, errors and live views."""
    return _console_class()(stderr=True, highlight=False)


def emit(data: T, as_json: bool, view: Callable[[T], RenderableType]) -> None:
    """Print ``data`` as JSON, or as what ``view`` makes of it for people (a string is
    printed as plain sentences, a Rich renderable as itself, styled ``Text`` unwrapped)."""
    if as_json:
        print_json(data)
        return
    rendered = view(data)
    if isinstance(rendered, str):
        say(rendered)
    else:  # text is never hard-wrapped: a diff line or a path must stay one line
        from rich.text import Text

        stdout().print(rendered, soft_wrap=isinstance(rendered, Text))


def print_json(data: object) -> None:
    from pydantic_core import to_jsonable_python

    sys.stdout.write(json.dumps(to_jsonable_python(data), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def say(message: str) -> None:
    """A sentence for people on stdout, printed as written (no markup, no hard wraps)."""
    stdout().print(message, markup=False, soft_wrap=True)


def aside(message: str) -> None:
    """A sentence for people on stderr (progress, what to wait for): stdout keeps the answer."""
    stderr().print(message, markup=False, soft_wrap=True)


def warn(message: str) -> None:
    from rich.text import Text

    stderr().print(Text("Warning: ", style="yellow") + Text(message), soft_wrap=True)


def cell(value: object) -> Text:
    """User data as plain text: a name with [brackets] must not turn into Rich markup."""
    from rich.text import Text

    if isinstance(value, Text):
        return value
    if value is None or value == "":
        return Text("-", style="dim")
    if isinstance(value, dict | list):
        return Text(json.dumps(value, ensure_ascii=False))
    if isinstance(value, datetime):
        return Text(when(value))
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    return Text(str(value))


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, caption: str | None = None
) -> Table:
    from rich import box
    from rich.table import Table

    out = Table(box=box.SIMPLE_HEAD, caption=caption, caption_justify="left", pad_edge=False)
    for header in headers:
        out.add_column(header, overflow="fold")
    for row in rows:
        out.add_row(*(cell(v) for v in row))
    return out


def paged(page: Page[T], shown: RenderableType) -> RenderableType:
    """``shown`` (a page's table) with where the next page starts, when there is one."""
    from rich.console import Group
    from rich.text import Text

    end = page.offset + len(page.items)
    if page.total > end:
        return Group(shown, Text(f"{end} of {page.total} shown; next: --offset {end}", style="dim"))
    return shown


def fields(pairs: Iterable[tuple[str, object]]) -> Table:
    """A two-column grid of labels and values, for ``show`` commands."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for label, value in pairs:
        grid.add_row(label, cell(value))
    return grid


def when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def access_summary(access: AccessOut) -> str:
    """``files:read jobs:all ...`` plus ``manage`` when granted."""
    levels = [f"{name}:{getattr(access, name).value}" for name in RESOURCES]
    return " ".join([*levels, "manage"] if access.manage else levels)


SHORT_ID = 12  # characters of a commit id shown; any unique prefix of 4 or more is accepted


def short(commit: str | None) -> str:
    return commit[:SHORT_ID] if commit else "-"


def size(n: int) -> str:
    """Bytes for people: ``1.2 MB``."""
    from rich.filesize import decimal

    return decimal(n)


def versions_table(commits: Sequence[CommitOut], *, what: str = "versions") -> RenderableType:
    """The versions of files, a dataset or a model, newest first."""
    from rich.text import Text

    if not commits:
        return Text(f"No {what} yet.")
    if any(c.source for c in commits):  # model versions registered from experiments
        linked = [
            (
                short(c.id),
                c.created_at,
                f"#{c.source.experiment_number}" if c.source else "",
                c.files,
                size(c.size),
                c.message,
            )
            for c in commits
        ]
        return table(["COMMIT", "WHEN", "EXPERIMENT", "FILES", "SIZE", "MESSAGE"], linked)
    rows = [
        (short(c.id), c.created_at, c.author, c.files, size(c.size), c.message) for c in commits
    ]
    return table(["COMMIT", "WHEN", "AUTHOR", "FILES", "SIZE", "MESSAGE"], rows)

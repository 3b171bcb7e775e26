"""A root group whose commands are imported when used, so ``hw sync`` starts fast.

Each entry names a command and where it lives (``module:attribute``): a function becomes a
command, a ``typer.Typer`` a group, built exactly as ``app.command(name)`` and
``app.add_typer(app, name=name)`` would build them, but only the first time Click asks for
that name. Running ``hw sync`` imports ``commands/folders.py`` and nothing of the other groups
(their SDK parts, schemas, Rich views); ``hw --help`` asks for every entry, so it lists exactly
what eager registration listed.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any, ClassVar

import typer
from typer import _click
from typer._coercion import RuntimeParam, build_runtime_param
from typer._param_types import coerce_cli_path
from typer.core import TyperGroup, TyperOption, _TyperParameter
from typer.main import get_command_from_info, get_group_from_info

Loader = Callable[[], _click.Command]


class LazyCommands(MutableMapping[str, _click.Command]):
    """Click's ``name -> command`` table, where some commands are built on first lookup.

    Iteration gives the names in registration order without building anything, so listing
    names (Typer's "did you mean" suggestions) stays cheap; looking one up builds only that one.
    """

    def __init__(self, built: Mapping[str, _click.Command], pending: Mapping[str, Loader]) -> None:
        self._built: dict[str, _click.Command] = dict(built)
        self._pending: dict[str, Loader] = {n: f for n, f in pending.items() if n not in built}
        self._order: list[str] = [*self._built, *self._pending]

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self._built and name in self._pending:
            self._built[name] = self._pending.pop(name)()
        return self._built[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        if name not in self._built and name not in self._pending:
            self._order.append(name)
        self._pending.pop(name, None)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._built and name not in self._pending:
            raise KeyError(name)
        self._built.pop(name, None)
        self._pending.pop(name, None)
        self._order.remove(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in self._pending


class PlainCoercion(RuntimeParam):
    """Typer's coercion of one parameter, minus Pydantic for the values that need none.

    Typer 0.29 coerces every value but a flag's through a Pydantic ``TypeAdapter``, and
    building the first one imports Pydantic and its plugin loader: a command that passes
    ``--limit 5`` or a folder name paid that before it sent anything. This one returns what
    that adapter returns for a ``str``, an integer written in ASCII digits (inside its
    bounds), a list of strings, a ``Path`` (through Typer's own path checks) or a flag's
    ``bool``; any other value, and any value the plain path refuses, goes to the adapter
    Typer would have built, so its result and its error messages are Typer's own
    (``tests/unit/test_cli_lazy.py`` compares the two for every parameter of ``hw``).
    """

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: _click.Context) -> Any:
        try:
            found = _plain(self.annotation, self.parameter_info, value, param, ctx)
        except Exception:  # let Typer's adapter say what is wrong, in its words
            found = _NOT_PLAIN
        if found is not _NOT_PLAIN:
            return found
        typers = param._runtime_param = build_runtime_param(param.type_descriptor)
        return typers._coerce_value(value, param=param, ctx=ctx)


_NOT_PLAIN: Any = object()
_DIGITS = re.compile(r"[+-]?[0-9]+")  # what int() and Pydantic both read as the same number


def _plain(
    annotation: Any, info: Any, value: Any, param: _TyperParameter, ctx: _click.Context
) -> Any:
    """The value Typer's adapter would return for ``value``, or ``_NOT_PLAIN``."""
    if info.parser is not None:
        return _NOT_PLAIN
    kind = type(value)
    if annotation in (str, bool) and kind is annotation:
        return value
    if annotation is int and (kind is int or (kind is str and _DIGITS.fullmatch(value))):
        number = int(value)
        # inside its bounds, a number passes Typer's bounds check (or clamp) unchanged
        if (info.min is None or number >= info.min) and (info.max is None or number <= info.max):
            return number
    if annotation == list[str] and kind in (list, tuple) and all(type(v) is str for v in value):
        return list(value)
    if annotation is Path and info.path_type is None and kind is str:
        # Typer's path adapter: Pydantic makes the Path (``Path(value)``), then its checks
        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    return _NOT_PLAIN


def coerce_plainly(command: _click.Command) -> None:
    """Give every parameter of ``command`` and of its subcommands a ``PlainCoercion``, their
    ``--help`` included (Click builds that one when it is first asked for)."""
    for param in command.params:
        plain(param)
    help_option = command.get_help_option

    def get_help_option(ctx: _click.Context) -> TyperOption | None:
        option = help_option(ctx)
        plain(option)
        return option

    command.get_help_option = get_help_option  # type: ignore[method-assign]
    for sub in getattr(command, "commands", {}).values():
        coerce_plainly(sub)


def plain(param: _click.Parameter | None) -> None:
    """Coerce ``param``'s values with ``PlainCoercion`` (a Typer parameter without a file type)."""
    if not isinstance(param, _TyperParameter) or param._runtime_param is not None:
        return
    described = param.type_descriptor
    if described.file_annotation is None:
        param._runtime_param = PlainCoercion(
            parameter_info=described.parameter_info, annotation=described.annotation
        )


class LazyGroup(TyperGroup):
    """A Typer group that adds the commands of ``entries`` (``name -> "module:attribute"``)
    after its own, importing each one's module only when that command is looked up.

    Subclass it with the table and pass the subclass as ``typer.Typer(cls=...)``.
    """

    entries: ClassVar[Mapping[str, str]] = {}
    pretty_exceptions_short: ClassVar[bool] = True

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        coerce_plainly(self)  # the root's own options (its commands are not built yet)
        pending = {name: self._loader(name, target) for name, target in self.entries.items()}
        self.commands = LazyCommands(self.commands, pending)

    def get_help_option(self, ctx: _click.Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        plain(option)
        return option

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(self.commands)  # names only: nothing is imported to list them

    def _loader(self, name: str, target: str) -> Loader:
        def load() -> _click.Command:
            module, _, attribute = target.partition(":")
            found: object = getattr(importlib.import_module(module), attribute)
            # A throwaway app registers it the way ``app.command``/``app.add_typer`` would.
            scratch = typer.Typer()
            if isinstance(found, typer.Typer):
                scratch.add_typer(found, name=name)
                command: _click.Command = get_group_from_info(
                    scratch.registered_groups[0],
                    pretty_exceptions_short=self.pretty_exceptions_short,
                    rich_markup_mode=self.rich_markup_mode,
                    suggest_commands=self.suggest_commands,
                )
                coerce_plainly(command)
                return command
            if not callable(found):
                raise TypeError(f"{target} is neither a command function nor a Typer app")
            scratch.command(name)(found)
            command = get_command_from_info(
                scratch.registered_commands[0],
                pretty_exceptions_short=self.pretty_exceptions_short,
                rich_markup_mode=self.rich_markup_mode,
            )
            coerce_plainly(command)
            return command

        return load

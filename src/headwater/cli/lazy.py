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
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any, ClassVar

import typer
from typer import _click
from typer.core import TyperGroup, TyperOption
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


class PlainOption(TyperOption):
    """A text option or a flag whose value is passed on as given when it already is a ``str``
    (a ``bool``) or absent. Typer coerces every such value through a Pydantic adapter, and
    building the first one imports Pydantic (~40 ms): for the root's ``--project`` and
    ``--help`` that happened on every ``hw GROUP --help``, which otherwise needs no Pydantic."""

    def process_value(self, ctx: _click.Context, value: Any) -> Any:
        plain = value is None or type(value) is self.type_descriptor.annotation
        if not plain or self.required:
            return super().process_value(ctx, value)
        return value if self.callback is None else self.callback(ctx, self, value)

    @staticmethod
    def fits(param: _click.Parameter | None) -> bool:
        """One ``str`` or ``bool`` value without a parser: what Typer's adapter returns as is."""
        if type(param) is not TyperOption or param.multiple or param.nargs != 1:
            return False
        described = param.type_descriptor
        return described.annotation in (str, bool) and described.parameter_info.parser is None


class LazyGroup(TyperGroup):
    """A Typer group that adds the commands of ``entries`` (``name -> "module:attribute"``)
    after its own, importing each one's module only when that command is looked up.

    Subclass it with the table and pass the subclass as ``typer.Typer(cls=...)``.
    """

    entries: ClassVar[Mapping[str, str]] = {}
    pretty_exceptions_short: ClassVar[bool] = True

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        # The root's own options, parsed without Pydantic. Typer builds them itself, so they
        # change class afterwards; PlainOption adds no state, only ``process_value``.
        for param in self.params:
            if PlainOption.fits(param):
                param.__class__ = PlainOption
        pending = {name: self._loader(name, target) for name, target in self.entries.items()}
        self.commands = LazyCommands(self.commands, pending)

    def get_help_option(self, ctx: _click.Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if PlainOption.fits(option):
            option.__class__ = PlainOption
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
                return get_group_from_info(
                    scratch.registered_groups[0],
                    pretty_exceptions_short=self.pretty_exceptions_short,
                    rich_markup_mode=self.rich_markup_mode,
                    suggest_commands=self.suggest_commands,
                )
            if not callable(found):
                raise TypeError(f"{target} is neither a command function nor a Typer app")
            scratch.command(name)(found)
            return get_command_from_info(
                scratch.registered_commands[0],
                pretty_exceptions_short=self.pretty_exceptions_short,
                rich_markup_mode=self.rich_markup_mode,
            )

        return load

"""Stand-ins for modules that ``hw`` names but rarely uses, loaded for real on first use.

Typer's help renderer (``typer.rich_utils``) imports ``rich.markdown`` (with markdown-it,
``rich.syntax`` and Pygments) and ``rich.traceback`` (with ``rich.pretty`` and attrs) at its
top, for help written in Markdown and for pretty tracebacks; ``hw`` uses neither (its help is
in Rich markup, its tracebacks are plain), and the two cost about as much as the rest of
``--help``. ``defer("rich.markdown", "Markdown")`` puts a stand-in module under that name
whose ``Markdown`` is a stand-in class: constructing it, reading any attribute of it or of the
module, or an ``isinstance`` check loads the real module and hands over to it, so anything
that does use it gets exactly what it would have got, one import later. Set up by
``headwater.cli`` before Typer renders anything; this module imports only the standard library.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class _Deferred(types.ModuleType):
    """A module's stand-in in ``sys.modules`` until something uses it."""

    def __init__(self, name: str) -> None:
        super().__init__(name, f"Stands in for {name} until it is used.")
        self.__deferred__ = True  # not loaded: what tests/support/importprobe.py leaves out

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):  # the import system's probes: nothing to load for
            raise AttributeError(attribute)
        return getattr(load(self.__name__), attribute)


class _StandInType(type):
    """The class of a stand-in class: every use goes to the real class."""

    _module: str
    _name: str

    def _real(cls) -> Any:
        return getattr(load(cls._module), cls._name)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._real()(*args, **kwargs)

    def __getattr__(cls, attribute: str) -> Any:
        return getattr(cls._real(), attribute)

    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, cls._real())

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, cls._real())


def load(name: str) -> types.ModuleType:
    """The real module ``name``, imported now if only its stand-in is there."""
    found = sys.modules.get(name)
    if isinstance(found, _Deferred):
        del sys.modules[name]
    return importlib.import_module(name)


def defer(name: str, *classes: str) -> None:
    """Put a stand-in for module ``name``, with stand-ins for its ``classes``, in
    ``sys.modules``, unless the module is imported already."""
    if name in sys.modules:
        return
    module = _Deferred(name)
    for cls in classes:
        setattr(module, cls, _StandInType(cls, (), {"_module": name, "_name": cls}))
    sys.modules[name] = module

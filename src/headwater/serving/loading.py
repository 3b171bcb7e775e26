"""Load the endpoint's function from the task's files, once, with errors a user can act on.

The file is a path relative to the working directory (the project's files at the deployed
commit). Its folder and the working directory go first on ``sys.path``, so ``import utils``
next to it works; the module runs once, so a model loaded at module level is loaded once.
Every way this can fail becomes one :class:`LoadFailed` naming what, where (file:line where
there is one) and how to fix it: the replica prints it and exits non-zero.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from headwater.domain.errors import InvalidInput


class LoadFailed(InvalidInput):
    """The endpoint's function could not be loaded."""

    code = "load_failed"


def load_function(file_name: str, function_name: str, *, cwd: Path) -> Callable[..., Any]:
    """Import ``file_name`` (relative to ``cwd``) and return its callable ``function_name``."""
    path = _existing_file(file_name, cwd)
    for folder in (str(cwd), str(path.parent)):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    module = _run_module(path, file_name)
    found = getattr(module, function_name, _MISSING)
    if found is _MISSING:
        raise LoadFailed(
            f"no function {function_name!r} in the file",
            where=file_name,
            hint=_name_hint(module, file_name),
        )
    if not callable(found):
        raise LoadFailed(
            f"{function_name!r} is a {type(found).__name__}, not a function",
            where=file_name,
            hint="point function_name at a def (or any callable) in that file",
        )
    return found


_MISSING = object()


def _existing_file(file_name: str, cwd: Path) -> Path:
    path = (cwd / file_name).resolve()
    if not path.is_file():
        raise LoadFailed(
            f"no such file in the endpoint's files ({cwd})",
            where=file_name,
            hint="file_name is relative to the project's root: check its spelling and that "
            "the file is synced at the deployed commit",
        )
    return path


def _run_module(path: Path, file_name: str) -> ModuleType:
    # The stem is the module's name (so pickles that name it load), unless that name is taken.
    name = (
        path.stem if path.stem not in sys.modules and path.stem.isidentifier() else "_hw_endpoint"
    )
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadFailed(
            "not a Python module",
            where=file_name,
            hint="file_name must name a .py file",
        )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise LoadFailed(
            f"syntax error: {error.msg}",
            where=f"{file_name}:{error.lineno}",
            hint="fix the line and deploy again (python -m py_compile FILE checks it locally)",
        ) from None
    except BaseException as error:  # user code at import: anything, SystemExit included
        if isinstance(error, KeyboardInterrupt):
            raise
        raise LoadFailed(
            f"{type(error).__name__}: {error}, raised while the file was imported",
            where=_raising_line(error, path, file_name),
            hint="the file's top level runs once, as the replica starts: try "
            f"`python -c 'import {path.stem}'` in the project's folder (paths relative to it)",
        ) from None
    return module


def _raising_line(error: BaseException, path: Path, file_name: str) -> str:
    """The deepest line of the user's file in the traceback (where their code went wrong)."""
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if Path(frame.filename).resolve() == path:
            line = frame.lineno
    return f"{file_name}:{line}" if line else file_name


def _name_hint(module: ModuleType, file_name: str) -> str:
    own = sorted(
        name
        for name, value in vars(module).items()
        if callable(value)
        and not name.startswith("_")
        and getattr(value, "__module__", None) == module.__name__
    )
    if own:
        return f"function_name must be one of the callables defined in {file_name}: " + ", ".join(
            own
        )
    return f"define the function in {file_name}, or point function_name at one that is there"

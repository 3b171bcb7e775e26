"""The calling convention (cnvrg's): how ``input_params`` becomes the function's arguments.

``f(*X)`` when X is a list and the function takes more than one positional parameter (more
than one without a default, or ``*args``); ``f(X)`` otherwise. With ``accept_files``, X is a
base64 string or a list of them: each is decoded into a file in a private folder and the
function gets its path (or the paths, by the same rule); the folder goes after the call.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headwater.domain.errors import InvalidInput

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_DATA_URL = re.compile(r"^data:[^,;]*;base64,")
_SPACE = re.compile(r"\s+")


def spreads_lists(function: Callable[..., Any]) -> bool:
    """Whether a list input is passed as separate arguments: decided once per function."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature: one argument
        return False
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return True
    required = [p for p in parameters if p.kind in _POSITIONAL and p.default is p.empty]
    return len(required) > 1


def arguments(value: Any, *, spread: bool) -> tuple[Any, ...]:
    """The positional arguments for one call."""
    if spread and isinstance(value, list):
        return tuple(value)
    return (value,)


def decode_files(value: Any, folder: Path) -> str | list[str]:
    """Write each base64 string of ``value`` into ``folder``; the path, or the list of paths."""
    if isinstance(value, str):
        return str(_write(value, folder / "input-0", "input_params"))
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [
            str(_write(item, folder / f"input-{i}", f"input_params[{i}]"))
            for i, item in enumerate(value)
        ]
    raise InvalidInput(
        "this endpoint takes files: input_params must be a base64 string or a list of them",
        where="input_params",
        hint="send each file as base64, e.g. base64.b64encode(open(p, 'rb').read()).decode()",
    )


def private_folder() -> Path:
    """A fresh folder only this user can enter, for one call's files."""
    return Path(tempfile.mkdtemp(prefix="hw-files-"))


def _write(text: str, path: Path, where: str) -> Path:
    data = _SPACE.sub("", _DATA_URL.sub("", text, count=1))
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInput(
            f"not valid base64: {error}",
            where=where,
            hint="encode the file's bytes with standard base64 (A-Z a-z 0-9 + / and = padding)",
        ) from None
    path.write_bytes(content)
    return path

"""``hw endpoint``'s own input rules: ``--data`` (JSON, ``@FILE``, ``-`` for stdin) with errors
that name the position, ``--file`` for an accept-files endpoint, the default title from
``--file`` of a deploy, and what a refused or missing key says.

Pure of Rich and the SDK: the command module imports it at start-up for nothing heavier than
the standard library and the domain's errors.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from headwater.domain.errors import HeadwaterError, InvalidInput, Unauthenticated

KEY_ENV = "HEADWATER_ENDPOINT_KEY"
_NOT_TITLE = re.compile(r"[^A-Za-z0-9-]+")


def default_title(file: str) -> str:
    """The file's name without its suffix, as a title (``predict.py`` -> ``predict``)."""
    stem = Path(file).stem
    title = _NOT_TITLE.sub("-", stem).strip("-")
    if not title:
        raise InvalidInput(
            f"cannot make a title from {file!r}",
            where="--title",
            hint="Name the endpoint with --title (letters, digits and hyphens).",
        )
    return title


def read_data(data: str) -> Any:
    """``--data``: JSON text, ``@FILE`` or ``-`` (stdin); a JSON error names its position."""
    where = "--data"
    text = data
    if data == "-":
        where, text = "stdin", sys.stdin.read()
    elif data.startswith("@"):
        where = data[1:]
        try:
            text = Path(where).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                f"cannot read {where}: {exc.strerror or exc}",
                where="--data",
                hint="@FILE names a JSON file; check the path.",
            ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno} "
            f"(character {exc.pos + 1})",
            where=where,
            hint='input_params must be JSON: quote strings ("text"), and quote the whole '
            "value for the shell, e.g. --data '{\"x\": [1, 2]}'; or pass @file.json.",
        ) from exc


def sent_files(files: list[Path] | None) -> Path | list[Path] | None:
    """``--file``: one is sent as a path (the function gets one), several as a list."""
    if not files:
        return None
    return files[0] if len(files) == 1 else files


def no_key(slug: str, exc: HeadwaterError, had_key: bool) -> HeadwaterError:
    """A predict refused for want of a key: the key was wrong, or the login may not call."""
    if had_key:
        return Unauthenticated(
            f"the key was refused by endpoint {slug!r}",
            where="--key",
            hint=f"Use the key printed at deploy time; `hw endpoint key rotate {slug}` makes a "
            f"new one (the old one stops working). Without --key (and {KEY_ENV}), your own "
            "login is used.",
        )
    return type(exc)(
        f"no key for endpoint {slug!r}, and your login may not call it ({exc.detail})",
        where="--key",
        hint=f"Pass the key deploy printed with --key KEY or {KEY_ENV}; a member with jobs all "
        f"makes a new one with `hw endpoint key rotate {slug}`. Or log in (`hw login`) as a "
        "member with jobs read on its project.",
    )

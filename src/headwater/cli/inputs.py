"""Reading what commands take besides plain options: secrets from stdin, ``KEY=VALUE`` lists,
and the consent to destroy something.

Secret values never come from argv, where ``ps`` and shell history would keep them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import typer

from headwater.domain.errors import InvalidInput


def read_secret(label: str, *, where: str = "stdin") -> str:
    """A secret from stdin: a hidden prompt on a terminal, else all of stdin (one trailing
    newline dropped, so ``echo VALUE | hw ...`` stores VALUE)."""
    if sys.stdin.isatty():
        value: str = typer.prompt(label, hide_input=True, err=True)
    else:
        value = sys.stdin.read()
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
    if not value:
        raise InvalidInput(
            f"{label} was not given: stdin is empty",
            where=where,
            hint="Pipe it in, e.g. `printf %s VALUE | hw ...`, or type it at the prompt.",
        )
    return value


def parse_assignments(items: Iterable[str], *, as_json: bool = False) -> dict[str, Any]:
    """``KEY=VALUE`` arguments, split at the first ``=`` and kept exactly as written.

    With ``as_json`` a value that parses as JSON is used as such (``3``, ``true``, ``["a"]``);
    any other value stays a string.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(
                f"argument {item!r} has no '='",
                where=item,
                hint="Write each entry as KEY=VALUE, e.g. LEARNING_RATE=0.01.",
            )
        out[key] = _json_or_text(value) if as_json else value
    return out


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def confirm_or_yes(question: str, *, yes: bool) -> None:
    """Ask on a terminal; elsewhere only ``--yes`` lets a destructive command go on."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise InvalidInput(
            "this command destroys data and needs a confirmation",
            where="--yes",
            hint="Pass --yes to confirm when no terminal can ask you.",
        )
    typer.confirm(question, abort=True)

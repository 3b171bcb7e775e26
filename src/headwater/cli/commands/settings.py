"""``hw settings``: the defaults new jobs of the active project start from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.context import ProjectOption, connect
from headwater.cli.inputs import parse_assignments
from headwater.cli.output import JsonOption, emit, fields

if TYPE_CHECKING:
    from rich.table import Table

    from headwater.schemas.settings import ProjectSettings

app = typer.Typer(help="Settings of the active project.", no_args_is_help=True)


@app.command("show")
def show(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Show every setting."""
    with connect(project) as client:
        settings = client.settings.get()
    emit(settings, as_json, _view)


def _view(settings: ProjectSettings) -> Table:
    return fields(settings.model_dump(mode="json").items())


@app.command("set")
def set_settings(
    assignments: Annotated[
        list[str],
        typer.Argument(
            help="FIELD=VALUE entries; a VALUE that parses as JSON is used as JSON "
            "(idle_minutes=30, tensorboard=true, compute='[\"cpu\"]'). "
            "A dotted FIELD sets one key of an object (slack.channel=ml)."
        ),
    ],
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change settings; they apply to jobs started from now on."""
    changes = parse_assignments(assignments, as_json=True)
    with connect(project) as client:
        if any("." in key for key in changes):
            changes = _nest(changes, client.settings.get().model_dump(mode="json"))
        settings = client.settings.update(changes)
    emit(settings, as_json, _view)


def _nest(changes: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Turn ``slack.channel=x`` into the whole ``slack`` object with that one key changed."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        top, _, rest = key.partition(".")
        if not rest:
            out[top] = value
            continue
        base = out.get(top, current.get(top))
        merged = dict(base) if isinstance(base, dict) else {}
        merged[rest] = value
        out[top] = merged
    return out

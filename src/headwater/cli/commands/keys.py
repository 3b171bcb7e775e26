"""``hw keys``: the active project's third-party keys (aws, gcp, git...), one per type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import ProjectOption, connect
from headwater.cli.inputs import read_secret
from headwater.cli.output import JsonOption, emit, say, table
from headwater.domain.keytypes import THIRD_PARTY_KEY_TYPES

if TYPE_CHECKING:
    from rich.table import Table

    from headwater.schemas.settings import KeyOut

app = typer.Typer(help="Third-party keys of the active project (owner only).", no_args_is_help=True)

KeyType = Annotated[str, typer.Argument(help="One of: " + ", ".join(THIRD_PARTY_KEY_TYPES) + ".")]


@app.command("set")
def set_key(
    key_type: KeyType,
    key_id: Annotated[
        str, typer.Option("--key-id", help="The public half, e.g. an access key ID.")
    ],
    project: ProjectOption = None,
) -> None:
    """Set a key; its secret half is read from stdin (a hidden prompt on a terminal)."""
    secret = read_secret(f"Secret for {key_type}")
    with connect(project) as client:
        key = client.keys.set(key_type, key_id, secret)
    say(f"Set the {key.type} key {key.key_id}.")


@app.command("list")
def list_keys(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """List the keys: type and key ID, never the secret."""
    with connect(project) as client:
        keys = client.keys.list()
    emit(keys, as_json, _view)


def _view(keys: list[KeyOut]) -> Table:
    return table(["TYPE", "KEY ID", "UPDATED"], [(k.type, k.key_id, k.updated_at) for k in keys])


@app.command("delete")
def delete(key_type: KeyType, project: ProjectOption = None) -> None:
    """Delete the key of one type."""
    with connect(project) as client:
        client.keys.delete(key_type)
    say(f"Deleted the {key_type} key.")

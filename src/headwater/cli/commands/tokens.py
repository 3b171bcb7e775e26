"""``hw token``: your own API tokens and password sessions: list them, revoke one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import connect
from headwater.cli.output import JsonOption, emit, say, table

if TYPE_CHECKING:
    from rich.table import Table

    from headwater.schemas.users import TokenInfoOut

app = typer.Typer(help="Your own API tokens and sessions.", no_args_is_help=True)


@app.command("list")
def list_tokens(as_json: JsonOption = False) -> None:
    """List your tokens (their ids; a secret is shown only when a token is made)."""
    with connect() as client:
        tokens = client.auth.tokens()
    emit(tokens, as_json, _view)


def _view(tokens: list[TokenInfoOut]) -> Table:
    rows = [
        (t.id, t.kind, t.created_at, t.expires_at or "never", "yes" if t.current else "")
        for t in tokens
    ]
    return table(["ID", "KIND", "CREATED", "EXPIRES", "THIS ONE"], rows)


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's ID (`hw token list`).")],
) -> None:
    """Revoke one of your tokens: it stops working at once."""
    with connect() as client:
        client.auth.revoke_token(token_id)
    say(f"Revoked token {token_id}.")

"""``hw webhook``: URLs the active project tells about its events, signed with a secret."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import ProjectOption, connect
from headwater.cli.output import JsonOption, emit, say, table
from headwater.domain.entities import WEBHOOK_EVENTS

if TYPE_CHECKING:
    from rich.table import Table

    from headwater.schemas.settings import WebhookCreated, WebhookOut

app = typer.Typer(help="Webhooks of the active project (owner only).", no_args_is_help=True)


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="An http:// or https:// address.")],
    event: Annotated[
        list[str] | None,
        typer.Option(
            help="An event to send (repeatable): " + ", ".join(WEBHOOK_EVENTS) + ". "
            "[default: experiment.succeeded and experiment.failed]"
        ),
    ] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a webhook and print its signing secret (shown once)."""
    with connect(project) as client:
        hook = client.webhooks.create(url, event)
    emit(hook, as_json, _created_view)


def _created_view(hook: WebhookCreated) -> str:
    return (
        f"Added webhook {hook.id} for {', '.join(hook.events)}. Its signing secret:\n"
        f"{hook.signing_secret}\n"
        "Requests carry X-Headwater-Signature-256: sha256=<hex HMAC-SHA256 of the body with that "
        "secret>."
    )


@app.command("list")
def list_webhooks(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """List the webhooks."""
    with connect(project) as client:
        hooks = client.webhooks.list()
    emit(hooks, as_json, _view)


def _view(hooks: list[WebhookOut]) -> Table:
    rows = [(h.id, h.url, ", ".join(h.events), h.enabled) for h in hooks]
    return table(["ID", "URL", "EVENTS", "ENABLED"], rows)


@app.command("delete")
def delete(
    webhook_id: Annotated[str, typer.Argument(help="The webhook's ID.")],
    project: ProjectOption = None,
) -> None:
    """Delete a webhook."""
    with connect(project) as client:
        client.webhooks.delete(webhook_id)
    say(f"Deleted webhook {webhook_id}.")

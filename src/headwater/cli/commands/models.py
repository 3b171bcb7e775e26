"""``hw model``: versioned models. Jobs create their versions; people list and pull them, and
can create and push one by hand."""

from typing import Annotated

import typer

from headwater.cli.commands.collections import CommitOption, Dest, collection_app, pull_into
from headwater.cli.context import ProjectOption, connect
from headwater.cli.output import JsonOption

app = collection_app("model", lambda client: client.models, "Versioned models.")

Model = Annotated[str, typer.Argument(metavar="NAME", help="The model's name.")]


@app.command("pull")
def pull(
    name: Model,
    directory: Dest = None,
    commit: CommitOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put a model version into DIR, through the local cache: pulling a version again
    downloads nothing. Files are hardlinks to the cache (read-only) where possible."""
    with connect(project) as client:
        pull_into(
            client,
            client.models,
            name,
            directory,
            commit=commit,
            project=project,
            as_json=as_json,
        )

"""``hw model``: versioned models. ``register`` makes an experiment's outputs a version (no
bytes move); people list and pull them, and can create and push one by hand."""

from typing import Annotated

import typer

from headwater.cli.commands.collections import CommitOption, Dest, collection_app, pull_into
from headwater.cli.context import ProjectOption, connect
from headwater.cli.output import JsonOption, emit, short

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


@app.command("register")
def register(
    name: Model,
    from_experiment: Annotated[
        str,
        typer.Option(
            "--from-experiment", metavar="N", help="The experiment (number or id) whose outputs."
        ),
    ],
    path: Annotated[
        str | None,
        typer.Option(
            help="Only this file or folder under its output folder, e.g. output/model.pkl."
        ),
    ] = None,
    message: Annotated[str, typer.Option("--message", "-m", help="What this version is.")] = "",
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register an experiment's committed outputs as a new version of model NAME (created if
    missing). Files are named relative to the output folder; nothing is uploaded again."""
    with connect(project) as client:
        result = client.models.register_from_experiment(
            name, from_experiment, path=path, message=message, project=project
        )
    emit(
        result,
        as_json,
        lambda r: (
            f"Model {name}: nothing changed, still version {short(r.id)}."
            if r.unchanged
            else f"Registered experiment {from_experiment} as model {name}, "
            f"version {short(r.id)} ({r.files} file(s))."
        ),
    )

"""``hw dataset``: versioned datasets (seed 004) and their queries, saved selections of files.

No ``from __future__ import annotations``, as in ``collections``: Typer reads the annotations.
"""

from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.commands.collections import CommitOption, Dest, collection_app, pull_into
from headwater.cli.context import ProjectOption, connect
from headwater.cli.output import JsonOption, emit, say, short, table

if TYPE_CHECKING:
    from rich.console import RenderableType

    from headwater.schemas.versions import QueryOut

app = collection_app(
    "dataset", lambda client: client.datasets, "Versioned datasets and their queries."
)
queries = typer.Typer(help="Saved selections of a dataset's files.", no_args_is_help=True)
app.add_typer(queries, name="query")

Dataset = Annotated[str, typer.Argument(metavar="NAME", help="The dataset's name.")]
QueryName = Annotated[str, typer.Argument(metavar="Q", help="The query's name.")]


@app.command("pull")
def pull(
    name: Dataset,
    directory: Dest = None,
    commit: CommitOption = None,
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help="Only the files this saved query selects."),
    ] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put a dataset version into DIR, through the local cache: pulling a version again
    downloads nothing. Files are hardlinks to the cache (read-only) where possible."""
    with connect(project) as client:
        selection = (
            client.datasets.resolve_query(name, query, commit=commit, project=project)
            if query
            else None
        )
        pull_into(
            client,
            client.datasets,
            name,
            directory,
            commit=commit,
            selection=selection,
            project=project,
            as_json=as_json,
        )


@queries.command("create")
def create_query(
    name: Dataset,
    query: QueryName,
    filters: Annotated[
        list[str],
        typer.Option(
            "--filter",
            "-f",
            help="A glob over the file paths ('images/*.png'; '*' crosses folders); '!GLOB' "
            "excludes. Repeat it for several.",
        ),
    ],
    commit: Annotated[
        str | None,
        typer.Option("--commit", "-c", help="Pin to this version. [default: always the latest]"),
    ] = None,
    description: Annotated[str, typer.Option(help="What the selection is for.")] = "",
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Save a query: a named selection of a dataset's files that tasks and pulls can use."""
    globs = "\n".join(line.strip() for f in filters for line in f.splitlines() if line.strip())
    with connect(project) as client:
        saved = client.datasets.create_query(
            name, query, globs, description=description, commit=commit, project=project
        )
        resolved = client.datasets.resolve_query(name, saved.name, project=project)
    emit(
        saved,
        as_json,
        lambda q: (
            f"Saved query {q.name} on dataset {name}: {len(resolved.entries)} file(s) "
            f"at version {short(resolved.commit.id)}. "
            f"Pull them: hw dataset pull {name} --query {q.name}"
        ),
    )


@queries.command("list")
def list_queries(name: Dataset, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """List a dataset's saved queries."""
    with connect(project) as client:
        found = client.datasets.list_queries(name, project=project)
    emit(found, as_json, lambda qs: _queries_view(qs, name))


def _queries_view(found: "list[QueryOut]", dataset: str) -> "RenderableType":
    from rich.text import Text

    if not found:
        return Text(f"No queries on {dataset} yet.")
    rows = [
        (q.name, q.filter.replace("\n", ", "), short(q.commit) if q.commit else "latest", q.query)
        for q in found
    ]
    return table(["QUERY", "FILTER", "VERSION", "DESCRIPTION"], rows)


@queries.command("delete")
def delete_query(name: Dataset, query: QueryName, project: ProjectOption = None) -> None:
    """Delete a saved query (the files stay)."""
    with connect(project) as client:
        client.datasets.delete_query(name, query, project=project)
    say(f"Deleted query {query} of dataset {name}.")

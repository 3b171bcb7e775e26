"""``hw endpoint``: deploy a predict function, manage what serves it, call it, read its logs.

``hw endpoints`` (the command from before endpoints served) stays as ``hw endpoint list``.
An endpoint is named by its title, its id, or its URL slug (``SLUG`` below)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from headwater.cli.context import ProjectOption, connect
from headwater.cli.endpointinputs import KEY_ENV, default_title, no_key, read_data, sent_files
from headwater.cli.inputs import confirm_or_yes
from headwater.cli.output import JsonOption, emit, print_json, say
from headwater.domain.errors import (
    HeadwaterError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)

app = typer.Typer(
    help="Endpoints: serve a predict function over HTTP (deploy, predict, scale, logs, keys).",
    no_args_is_help=True,
)
key_app = typer.Typer(help="The endpoint's key (sent as `Authorization: Bearer KEY`).")
app.add_typer(key_app, name="key", no_args_is_help=True)

Slug = Annotated[str, typer.Argument(metavar="SLUG", help="The endpoint's title, id or URL slug.")]
Limit = Annotated[int, typer.Option(min=1, max=500, help="How many to show.")]
Offset = Annotated[int, typer.Option(min=0, help="Where the page starts.")]
WAIT_TIMEOUT = 600.0


# -- reading ---------------------------------------------------------------------------------


@app.command("list")
def list_endpoints(
    limit: Limit = 50,
    offset: Offset = 0,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The project's endpoints: status, replicas, URL slug."""
    with connect(project) as client:
        page = client.endpoints.list(offset=offset, limit=limit)
    from headwater.cli.endpointviews import list_view  # the views after the answer

    emit(page, as_json, list_view)


def endpoints(
    limit: Limit = 50,
    offset: Offset = 0,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The project's endpoints (the same as `hw endpoint list`)."""
    list_endpoints(limit=limit, offset=offset, project=project, as_json=as_json)


@app.command()
def show(slug: Slug, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """An endpoint: its URL, versions with their traffic split, and replicas."""
    with connect(project) as client:
        found = client.endpoints.show(slug)
    from headwater.cli.endpointviews import detail_view  # the views after the answer

    emit(found, as_json, detail_view)


@app.command()
def logs(
    slug: Slug,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing the replicas' new output.")
    ] = False,
    requests: Annotated[
        bool, typer.Option("--requests", help="The sampled request log instead of the output.")
    ] = False,
    limit: Limit = 50,
    offset: Offset = 0,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The replicas' output, or the sampled request log with --requests.

    The output holds the traceback of each failed prediction under its request id; --limit
    and --offset page the request log."""
    if follow and (as_json or requests):
        raise InvalidInput(
            "--follow prints output as it comes and takes neither --json nor --requests",
            where="--follow",
            hint="Leave out --follow to get one JSON document or the request log.",
        )
    with connect(project) as client:
        if requests:
            page = client.endpoints.requests(slug, offset=offset, limit=limit)
            from headwater.cli.endpointviews import requests_view

            emit(page, as_json, requests_view)
            return
        if follow:
            for chunk in client.endpoints.follow(slug):
                _write(chunk.stream, chunk.text)
            return
        out = client.endpoints.logs(slug, limit=10_000)
    if as_json:
        print_json(out)
        return
    for chunk in out.chunks:
        _write(chunk.stream, chunk.text)
    if not out.chunks:
        from headwater.cli.output import stderr

        stderr().print("No output from this endpoint's replicas yet.", markup=False)


def _write(stream: str, text: str) -> None:
    sink = sys.stderr if stream == "stderr" else sys.stdout
    sink.write(text)
    sink.flush()


# -- deploying -------------------------------------------------------------------------------


@app.command()
def deploy(
    file: Annotated[
        str,
        typer.Option(
            "--file", help="The file with the function, as synced (a path from the project root)."
        ),
    ],
    function: Annotated[str, typer.Option("--function", help="The function to serve.")],
    title: Annotated[
        str | None,
        typer.Option(
            "--title",
            help="The endpoint's title (letters, digits, hyphens); default: the file's name. "
            "An endpoint's own title deploys a new version of it (a canary).",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="NAME@VERSION of a registered model.")
    ] = None,
    min_replica: Annotated[int, typer.Option("--min", min=1, help="Fewest replicas.")] = 1,
    max_replica: Annotated[int, typer.Option("--max", min=1, help="Most replicas.")] = 1,
    accept_files: Annotated[
        bool,
        typer.Option("--accept-files", help="input_params are files in base64; pass paths."),
    ] = False,
    config: Annotated[
        list[str] | None,
        typer.Option("--config", metavar="KEY=VAL", help="An env var for the function."),
    ] = None,
    commit: Annotated[
        str | None, typer.Option("--commit", help="A version of the project's files.")
    ] = None,
    compute: Annotated[
        list[str] | None, typer.Option("--compute", help="A compute template, in order.")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Show the status until it serves or fails.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds --wait waits at most.")
    ] = WAIT_TIMEOUT,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Serve a function of the project's synced files over HTTP.

    A new endpoint's key is printed once; a title the project has gets a new version (a
    canary)."""
    name = title or default_title(file)
    with connect(project) as client:
        done = client.endpoints.deploy(
            name,
            file,
            function,
            min_replica=min_replica,
            max_replica=max_replica,
            config_vars=config or [],
            accept_files=accept_files,
            commit=commit,
            model=model,
            computes=compute or [],
        )
        from headwater.cli.endpointviews import deployed, status_line, wait_for_deploy

        if not as_json:
            say(deployed(done))
        if not wait:
            if as_json:
                print_json(done)
            return
        progress = wait_for_deploy(client, done, timeout, quiet=as_json)
    final = done.model_copy(update={"endpoint": progress.endpoint})
    if as_json:
        print_json(final)
    if progress.failed is not None:
        raise HeadwaterError(
            progress.failed,
            where=f"endpoint {done.endpoint.title}",
            hint=f"Its replicas' output says why: `hw endpoint logs {done.endpoint.title}`.",
        )
    if not progress.done:
        raise HeadwaterError(
            f"version {done.version} does not serve yet after {timeout:g} s",
            where=f"endpoint {done.endpoint.title}",
            hint=f"It may still start: `hw endpoint show {done.endpoint.title}`; its output: "
            f"`hw endpoint logs {done.endpoint.title}`.",
        )
    if not as_json:
        say(f"Serving: {status_line(progress)}.")


# -- calling ---------------------------------------------------------------------------------


@app.command()
def predict(
    slug: Slug,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            metavar="JSON",
            help="input_params as JSON, @FILE to read it from a file, - from stdin.",
        ),
    ] = None,
    file: Annotated[
        list[Path] | None,
        typer.Option(
            "--file",
            help="A file for an accept-files endpoint, sent in base64 (repeat it for a list).",
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            envvar=KEY_ENV,
            show_envvar=True,
            help="The endpoint's key; without it, your login (jobs read on the project).",
        ),
    ] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Call the endpoint with {"input_params": DATA} and print its prediction."""
    if (data is None) == (not file):
        raise typer.BadParameter(
            "give the input with --data JSON or the files with --file, one of the two "
            "(e.g. --data '[5.1, 3.5, 1.4, 0.2]', --data @input.json, or --file image.png)",
            param_hint="--data",
        )
    value = read_data(data) if data is not None else None
    files = sent_files(file)
    with connect(project) as client:
        try:
            answer = client.endpoints.predict(slug, value, key=key, files=files)
        except (Unauthenticated, PermissionDenied) as exc:
            raise no_key(slug, exc, key is not None) from exc
        except NotFound as exc:
            if key is not None:
                raise
            raise NotFound(
                exc.detail,
                where=exc.where,
                hint=f"`hw endpoint list` shows the project's endpoints; another project: "
                f"--project ID; or call it by its URL slug with its key (--key or {KEY_ENV}).",
            ) from exc
    if as_json:
        print_json({"prediction": answer.prediction, "request_id": answer.request_id})
        return
    say(json.dumps(answer.prediction, indent=2, ensure_ascii=False))


@app.command()
def replay(
    slug: Slug,
    request: Annotated[int, typer.Argument(metavar="ID", help="The ID in `logs --requests`.")],
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a logged request's input again and print what the endpoint answers now."""
    with connect(project) as client:
        answer = client.endpoints.replay(slug, request)
    if as_json:
        print_json({"prediction": answer.prediction, "request_id": answer.request_id})
        return
    say(json.dumps(answer.prediction, indent=2, ensure_ascii=False))


# -- changing --------------------------------------------------------------------------------


@app.command()
def scale(
    slug: Slug,
    min_replica: Annotated[int, typer.Option("--min", min=1, help="Fewest replicas.")],
    max_replica: Annotated[int, typer.Option("--max", min=1, help="Most replicas.")],
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """New replica bounds; the autoscaler picks the number within them."""
    with connect(project) as client:
        found = client.endpoints.scale(slug, min_replica, max_replica)
    emit(
        found,
        as_json,
        lambda e: (
            f"Endpoint {e.title}: between {e.min_replicas} and "
            f"{e.max_replicas} replicas ({e.replicas_wanted} wanted now)."
        ),
    )


@app.command()
def stop(slug: Slug, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Stop serving: the replicas stop, predict answers 503 until `hw endpoint start`."""
    with connect(project) as client:
        found = client.endpoints.stop(slug)
    emit(found, as_json, lambda e: f"Endpoint {e.title} stops ({e.status}).")


@app.command()
def start(slug: Slug, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Serve again after a stop or a failure."""
    with connect(project) as client:
        found = client.endpoints.start(slug)
    emit(found, as_json, lambda e: f"Endpoint {e.title} starts ({e.status}).")


@app.command()
def rollback(
    slug: Slug,
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the record.")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Back to the previous version: the newest ends rolled back, the one before serves."""
    with connect(project) as client:
        found = client.endpoints.rollback(slug, reason=reason)
    from headwater.cli.endpointviews import rolled_back  # the views after the answer

    emit(found, as_json, rolled_back)


@app.command()
def delete(
    slug: Slug,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    project: ProjectOption = None,
) -> None:
    """Stop the replicas and delete the endpoint with its versions, request log and stats."""
    confirm_or_yes(f"Delete endpoint {slug} for good?", yes=yes)
    with connect(project) as client:
        client.endpoints.delete(slug)
    say(f"Deleted endpoint {slug}.")


@key_app.command("rotate")
def rotate(slug: Slug, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """A new key, printed once; the old one stops working at once."""
    with connect(project) as client:
        made = client.endpoints.rotate_key(slug)
    from headwater.cli.endpointviews import key_view  # the views after the answer

    emit(made, as_json, key_view)

"""``hw endpoint``: deploy a predict function, manage what serves it, call it, read its logs.

``hw endpoints`` (the command from before endpoints served) stays as ``hw endpoint list``.
An endpoint is named by its title, its id, or its URL slug (``SLUG`` below)."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.text import Text

from headwater.cli.context import ProjectOption, connect
from headwater.cli.inputs import confirm_or_yes
from headwater.cli.output import (
    JsonOption,
    cell,
    emit,
    fields,
    paged,
    print_json,
    say,
    stderr,
    table,
)
from headwater.domain.errors import (
    HeadwaterError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)

if TYPE_CHECKING:  # annotations only: the schemas load with the SDK, when a command runs
    from headwater.client.endpoints import DeployProgress
    from headwater.schemas.common import Page
    from headwater.schemas.endpoints import (
        EndpointDeployed,
        EndpointDetail,
        EndpointKey,
        EndpointOut,
        RequestOut,
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
KEY_ENV = "HEADWATER_ENDPOINT_KEY"
WAIT_TIMEOUT = 600.0
_NOT_TITLE = re.compile(r"[^A-Za-z0-9-]+")


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
    emit(page, as_json, _list_view)


def endpoints(
    limit: Limit = 50,
    offset: Offset = 0,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The project's endpoints (the same as `hw endpoint list`)."""
    list_endpoints(limit=limit, offset=offset, project=project, as_json=as_json)


def _list_view(page: Page[EndpointOut]) -> RenderableType:
    if not page.items:
        return Text(
            "No endpoints yet: `hw endpoint deploy --file predict.py --function predict` "
            "serves one, and so does a flow's deploy task."
        )
    rows = [
        (
            e.title,
            e.slug,
            e.status,
            f"{e.replicas_wanted} ({e.min_replicas}-{e.max_replicas})",
            _function(e),
            e.flow_run or "",
            e.updated_at,
        )
        for e in page.items
    ]
    headers = ["TITLE", "SLUG", "STATUS", "REPLICAS", "PREDICT", "BAKE", "UPDATED"]
    return paged(page, table(headers, rows))


def _function(e: EndpointOut) -> str:
    """``file.py:function``, the deploy's ``file_name`` and ``function_name``."""
    file, function = e.definition.get("file_name"), e.definition.get("function_name")
    return f"{file}:{function}" if file and function else str(file or function or "")


@app.command()
def show(slug: Slug, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """An endpoint: its URL, versions with their traffic split, and replicas."""
    with connect(project) as client:
        found = client.endpoints.show(slug)
    emit(found, as_json, _detail_view)


def _detail_view(e: EndpointDetail) -> RenderableType:
    head = fields(
        [
            ("Title", e.title),
            ("Status", e.status + ("" if e.desired == "running" else f" ({e.desired})")),
            ("URL", e.url),
            ("Function", _function(e)),
            (
                "Replicas",
                f"{e.replicas_wanted} wanted, between {e.min_replicas} and {e.max_replicas}",
            ),
            ("Key", f"{e.key_prefix}..." if e.key_prefix else ""),
            ("Bake", e.flow_run or ""),
            ("Updated", e.updated_at),
        ]
    )
    versions = table(
        ["VERSION", "STATE", "TRAFFIC", "SOURCE", "CREATED", "REASON"],
        [
            (v.number, v.state, f"{v.traffic}%", _source(v.source), v.created_at, v.reason or "")
            for v in e.versions
        ],
    )
    replicas = table(
        ["REPLICA", "VERSION", "STATE", "EXPERIMENT", "STARTED", "READY"],
        [
            (r.id[:12], r.version, r.state, r.experiment, r.created_at, r.ready_at or "")
            for r in e.replicas
        ],
    )
    shown: list[RenderableType] = [head, Text(""), Text("Versions", style="bold"), versions]
    if e.replicas:
        shown += [Text("Replicas", style="bold"), replicas]
    else:
        shown.append(Text("No replicas.", style="dim"))
    return Group(*shown)


def _source(source: dict[str, object]) -> str:
    commit = source.get("commit")
    model = source.get("model")
    parts = [f"files {str(commit)[:12]}" if commit else "", f"model {model}" if model else ""]
    return ", ".join(p for p in parts if p)


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
            emit(page, as_json, _requests_view)
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
        stderr.print("No output from this endpoint's replicas yet.", markup=False)


def _write(stream: str, text: str) -> None:
    sink = sys.stderr if stream == "stderr" else sys.stdout
    sink.write(text)
    sink.flush()


def _requests_view(page: Page[RequestOut]) -> RenderableType:
    if not page.items:
        return Text(
            "No requests logged: the endpoint has answered none yet, or its request_log "
            "setting samples none."
        )
    rows = [
        (r.id, r.at, r.version or "", r.status, f"{r.latency_ms:.1f}", r.input, r.output)
        for r in page.items
    ]
    headers = ["ID", "AT", "VERSION", "STATUS", "MS", "INPUT", "OUTPUT"]
    return paged(page, table(headers, rows))


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
        if not as_json:
            say(_deployed(done))
        if not wait:
            if as_json:
                print_json(done)
            return
        progress = _wait(client, done, timeout, quiet=as_json)
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
        say(f"Serving: {_status_line(progress)}.")


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


def _deployed(done: EndpointDeployed) -> str:
    e = done.endpoint
    lines = [
        f"Deployed version {done.version} of endpoint {e.title} ({e.status}).",
        f"URL: {e.url}",
    ]
    if done.key is not None:
        shared = " (the project's single deploy key)" if done.key.shared else ""
        lines.append(f"Key{shared}: {done.key.key}")
        lines.append(
            "The key is shown only now: keep it (`hw endpoint key rotate` makes a new one)."
        )
    if done.version > 1:
        lines.append("It takes traffic as a canary; `hw endpoint rollback` goes back.")
    return "\n".join(lines)


def _status_line(p: DeployProgress) -> str:
    e = p.endpoint
    wanted = max(e.replicas_wanted, e.min_replicas)
    return f"endpoint {e.title} {e.status}, version {p.version}: {p.ready}/{wanted} replicas ready"


def _wait(client: Any, done: EndpointDeployed, timeout: float, *, quiet: bool) -> DeployProgress:
    """Watch the new version until it serves, fails or ``timeout`` passes: a live line on a
    terminal, a line per change elsewhere (stderr: stdout keeps the answer)."""
    deadline = time.monotonic() + timeout
    last: DeployProgress | None = None
    live = stderr.is_terminal and not quiet
    printed = ""
    status = stderr.status("deploying") if live else None
    try:
        if status is not None:
            status.start()
        for progress in client.endpoints.watch(done.endpoint.id, done.version):
            last = progress
            line = _status_line(progress)
            if status is not None:
                status.update(line)
            elif line != printed and not quiet:
                stderr.print(line, markup=False, soft_wrap=True)
            printed = line
            if progress.done or time.monotonic() > deadline:
                break
    finally:
        if status is not None:
            status.stop()
    assert last is not None
    return last


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
        raise InvalidInput(
            "give the input with --data JSON or the files with --file, one of the two",
            where="--data",
            hint="e.g. --data '[5.1, 3.5, 1.4, 0.2]', --data @input.json, or --file image.png.",
        )
    value = read_data(data) if data is not None else None
    # one --file: the function gets a path; several: a list of paths
    files: Path | list[Path] | None = (file[0] if len(file) == 1 else file) if file else None
    with connect(project) as client:
        try:
            answer = client.endpoints.predict(slug, value, key=key, files=files)
        except (Unauthenticated, PermissionDenied) as exc:
            raise _no_key(slug, exc, key is not None) from exc
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
            f"{'--data' if where == '--data' else where} is not JSON: {exc.msg} at line "
            f"{exc.lineno} column {exc.colno} (character {exc.pos + 1})",
            where=where,
            hint='input_params must be JSON: quote strings ("text"), and quote the whole '
            "value for the shell, e.g. --data '{\"x\": [1, 2]}'; or pass @file.json.",
        ) from exc


def _no_key(slug: str, exc: HeadwaterError, had_key: bool) -> HeadwaterError:
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
    emit(found, as_json, _rolled_back)


def _rolled_back(e: EndpointDetail) -> str:
    serving = [f"version {v.number} ({v.traffic}%)" for v in e.versions if v.traffic]
    return f"Endpoint {e.title} rolled back; serving: {', '.join(serving) or 'nothing yet'}."


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
    emit(made, as_json, _key_view)


def _key_view(k: EndpointKey) -> RenderableType:
    shared = " (the project's single deploy key: every endpoint of the project takes it)"
    return Group(
        cell(k.key),
        Text(
            "Shown only now; the old key no longer works" + (shared if k.shared else "") + ".",
            style="dim",
        ),
    )

"""How endpoints look on a terminal: the list, the show view, the request log, a new key,
what a deploy says, and the deploy waiter's status line.

``hw endpoint`` imports this module after the answer arrived; Rich is imported inside each
view, so an answer printed with ``--json`` never loads it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from headwater.cli.output import cell, fields, paged, stderr, table

if TYPE_CHECKING:
    from rich.console import RenderableType

    from headwater.client import Client
    from headwater.client.endpoints import DeployProgress
    from headwater.schemas.common import Page
    from headwater.schemas.endpoints import (
        EndpointDeployed,
        EndpointDetail,
        EndpointKey,
        EndpointOut,
        RequestOut,
    )


def list_view(page: Page[EndpointOut]) -> RenderableType:
    from rich.text import Text

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
            function_of(e),
            e.flow_run or "",
            e.updated_at,
        )
        for e in page.items
    ]
    headers = ["TITLE", "SLUG", "STATUS", "REPLICAS", "PREDICT", "BAKE", "UPDATED"]
    return paged(page, table(headers, rows))


def function_of(e: EndpointOut) -> str:
    """``file.py:function``, the deploy's ``file_name`` and ``function_name``."""
    file, function = e.definition.get("file_name"), e.definition.get("function_name")
    return f"{file}:{function}" if file and function else str(file or function or "")


def detail_view(e: EndpointDetail) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    head = fields(
        [
            ("Title", e.title),
            ("Status", status_of(e)),
            ("URL", e.url),
            ("Function", function_of(e)),
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
            (v.number, v.state, f"{v.traffic}%", source_of(v.source), v.created_at, v.reason or "")
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


def status_of(e: EndpointOut) -> str:
    """The status, and what its owner asked for when it is not that yet."""
    if e.desired == "stopped" and e.status != "stopped":
        return f"{e.status} (stopping)"
    return e.status


def source_of(source: dict[str, object]) -> str:
    commit = source.get("commit")
    model = source.get("model")
    parts = [f"files {str(commit)[:12]}" if commit else "", f"model {model}" if model else ""]
    return ", ".join(p for p in parts if p)


def requests_view(page: Page[RequestOut]) -> RenderableType:
    from rich.text import Text

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


def key_view(k: EndpointKey) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    shared = " (the project's single deploy key: every endpoint of the project takes it)"
    return Group(
        cell(k.key),
        Text(
            "Shown only now; the old key no longer works" + (shared if k.shared else "") + ".",
            style="dim",
        ),
    )


def rolled_back(e: EndpointDetail) -> str:
    serving = [f"version {v.number} ({v.traffic}%)" for v in e.versions if v.traffic]
    return f"Endpoint {e.title} rolled back; serving: {', '.join(serving) or 'nothing yet'}."


def deployed(done: EndpointDeployed) -> str:
    """What ``hw endpoint deploy`` says: the version, the URL and, once, the key."""
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


def status_line(p: DeployProgress) -> str:
    e = p.endpoint
    wanted = max(e.replicas_wanted, e.min_replicas)
    return f"endpoint {e.title} {e.status}, version {p.version}: {p.ready}/{wanted} replicas ready"


def wait_for_deploy(
    client: Client, done: EndpointDeployed, timeout: float, *, quiet: bool
) -> DeployProgress:
    """Watch the new version until it serves, fails or ``timeout`` passes: a live line on a
    terminal, a line per change elsewhere (stderr: stdout keeps the answer)."""
    deadline = time.monotonic() + timeout
    last: DeployProgress | None = None
    live = not quiet and stderr().is_terminal  # quiet (--json): no console, no Rich
    printed = ""
    status = stderr().status("deploying") if live else None
    try:
        if status is not None:
            status.start()
        for progress in client.endpoints.watch(done.endpoint.id, done.version):
            last = progress
            line = status_line(progress)
            if status is not None:
                status.update(line)
            elif line != printed and not quiet:
                stderr().print(line, markup=False, soft_wrap=True)
            printed = line
            if progress.done or time.monotonic() > deadline:
                break
    finally:
        if status is not None:
            status.stop()
    assert last is not None
    return last

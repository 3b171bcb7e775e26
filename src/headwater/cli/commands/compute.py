"""``hw status`` (the monitoring view) and ``hw compute`` (compute templates)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import connect
from headwater.cli.output import JsonOption, emit, size, table, when

if TYPE_CHECKING:
    from rich.console import RenderableType

    from headwater.schemas.experiments import ComputeTemplateOut, MonitorOut, MonitorScope
    from headwater.schemas.monitoring import ComputeUsageOut, MonitorJobsOut

app = typer.Typer(
    help="Compute templates: name, CPUs, memory, GPUs, custom resources.", no_args_is_help=True
)


def status(
    jobs: Annotated[
        bool,
        typer.Option(
            "--jobs", help="List the jobs (who, what, since when, compute) and usage per template."
        ),
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="With --jobs.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Active and pending jobs, and CPU, GPU, memory and storage assigned and total."""
    with connect() as client:
        if jobs:
            listed = client.compute.jobs(limit=limit)
        else:
            found = client.compute.monitor()
    if jobs:
        emit(listed, as_json, jobs_view)
    else:
        emit(found, as_json, status_view)


def jobs_view(m: MonitorJobsOut) -> RenderableType:
    from rich.console import Group

    per_compute = table(
        ["COMPUTE", *USAGE_COLUMNS], [_usage_row(name, c) for name, c in m.computes.items()]
    )
    listed = table(
        ["JOB", "STATE", "WHO", "WHAT", "SINCE", "COMPUTE"],
        [
            (
                f"{j.project_name} #{j.number}",
                j.state.value,
                j.created_by_name,
                j.title or j.command,
                when(j.since),
                j.compute,
            )
            for j in m.items
        ],
    )
    more = (
        f"The first {len(m.items)} of {m.total} jobs (--limit shows more)."
        if m.total > len(m.items)
        else f"{m.total} job(s)."
    )
    return Group(per_compute, listed, more)


def status_view(m: MonitorOut) -> RenderableType:
    from rich.console import Group

    o, t = m.overall, m.total
    overall = table(
        ["", "ASSIGNED", "TOTAL"],
        [
            ("Active jobs", o.active_jobs, ""),
            ("Pending jobs", o.pending_jobs, ""),
            ("CPU cores", f"{o.assigned.cpus:g}", f"{t.cpus:g}"),
            ("GPUs", o.assigned.gpus, t.gpus),
            ("Memory", size(o.assigned.memory_mb * 1024 * 1024), size(t.memory_mb * 1024 * 1024)),
            ("Storage", size(m.storage_used_bytes), size(m.storage_total_bytes)),
        ],
    )
    if not m.projects:
        return overall
    per_project = table(
        ["PROJECT", *USAGE_COLUMNS],
        [_usage_row(pid, s) for pid, s in sorted(m.projects.items())],
    )
    return Group(overall, per_project)


USAGE_COLUMNS = ["ACTIVE", "PENDING", "CPUS", "GPUS", "MEMORY"]


def _usage_row(name: str, u: ComputeUsageOut | MonitorScope) -> tuple[object, ...]:
    """A compute template's or a project's jobs and what they hold, under USAGE_COLUMNS."""
    held = u.assigned
    return (
        name,
        u.active_jobs,
        u.pending_jobs,
        f"{held.cpus:g}",
        held.gpus,
        size(held.memory_mb * 1024 * 1024),
    )


def _custom(resources: dict[str, float]) -> str:
    return ", ".join(f"{name}={amount:g}" for name, amount in sorted(resources.items())) or "-"


def _templates(items: list[ComputeTemplateOut]) -> RenderableType:
    return table(
        ["NAME", "CPUS", "MEMORY", "GPUS", "RESOURCES", "OWNER"],
        [
            (
                t.name,
                f"{t.cpus:g}",
                size(t.memory_mb * 1024 * 1024),
                t.gpus,
                _custom(t.custom_resources),
                t.owner or "shared",
            )
            for t in items
        ],
    )


def _template(t: ComputeTemplateOut) -> RenderableType:
    return table(
        ["", ""],
        [
            ("Name", t.name),
            ("CPU cores", f"{t.cpus:g}"),
            ("Memory", size(t.memory_mb * 1024 * 1024)),
            ("GPUs", t.gpus),
            ("Custom resources", _custom(t.custom_resources)),
            ("Owner", t.owner or "shared"),
        ],
    )


def _resources(pairs: list[str]) -> dict[str, float]:
    """``--resource NAME=AMOUNT`` options as a mapping (the server checks names and amounts)."""
    found: dict[str, float] = {}
    for pair in pairs:
        name, sep, amount = pair.rpartition("=")
        try:
            found[name] = float(amount)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise typer.BadParameter(
                f"{pair!r} is not NAME=AMOUNT (e.g. accelerator_type:A100=1)",
                param_hint="--resource",
            ) from None
    return found


@app.command("list")
def list_templates(as_json: JsonOption = False) -> None:
    """Templates you may use."""
    with connect() as client:
        found = client.compute.list()
    emit(found, as_json, _templates)


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="The template.")], as_json: JsonOption = False
) -> None:
    """One template: its CPUs, memory, GPUs and custom resources."""
    with connect() as client:
        found = client.compute.get(name)
    emit(found, as_json, _template)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A short name, e.g. gpu-large.")],
    cpus: Annotated[float, typer.Option(help="CPU cores.")],
    memory: Annotated[int, typer.Option(help="Memory in MiB.")],
    gpus: Annotated[int, typer.Option(help="GPUs.")] = 0,
    resource: Annotated[
        list[str] | None,
        typer.Option(
            "--resource",
            help="A custom resource the Ray nodes advertise, NAME=AMOUNT "
            "(e.g. accelerator_type:A100=1); repeatable.",
        ),
    ] = None,
    owned: Annotated[bool, typer.Option(help="Yours only (not shared).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a compute template (shared ones: admins only)."""
    custom = _resources(resource or [])
    with connect() as client:
        made = client.compute.create(
            name, cpus=cpus, memory_mb=memory, gpus=gpus, custom_resources=custom, owned=owned
        )
    emit(made, as_json, lambda t: f"Created compute template {t.name}.")


@app.command("delete")
def delete(name: Annotated[str, typer.Argument(help="The template.")]) -> None:
    """Delete a compute template."""
    with connect() as client:
        client.compute.delete(name)
    typer.echo(f"Deleted compute template {name}.")

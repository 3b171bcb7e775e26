"""``hw bakes`` and ``hw inspect``: the runs of flows, and one run with its graph.

Named after neuro-flow's bakes (seed 003): a bake is one run of a flow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from headwater.cli.context import ProjectOption, connect
from headwater.cli.output import JsonOption, emit, paged, say


def bakes(
    flow: Annotated[str | None, typer.Option("--flow", help="Only this flow's runs.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The project's flow runs, newest first (one page; --offset for more)."""
    with connect(project) as client:
        page = client.flows.runs(flow=flow, offset=offset, limit=limit, project=project)
    from headwater.cli.runviews import runs_table  # the views (Rich, graphs) after the answer

    emit(page, as_json, lambda p: paged(p, runs_table(p.items)))


TaskFilter = Annotated[
    str | None, typer.Option("--task", help="Page this task's instances (see --offset).")
]
StatusFilter = Annotated[
    str | None,
    typer.Option("--status", help="Only instances in this state (queued, running, failed, ...)."),
]
InstanceLimit = Annotated[
    int, typer.Option("--limit", min=1, max=500, help="Instances shown (per task, without --task).")
]
InstanceOffset = Annotated[int, typer.Option("--offset", min=0, help="Instances to skip first.")]


def inspect(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="The run's number or id.")],
    output_graph: Annotated[
        Path | None,
        typer.Option(
            "--output-graph",
            metavar="FILE",
            help="Write the run's graph: .dot (text), or .svg, .pdf, .png (needs Graphviz).",
        ),
    ] = None,
    task: TaskFilter = None,
    status: StatusFilter = None,
    limit: InstanceLimit = 20,
    offset: InstanceOffset = 0,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run: its tasks with counts by state, and their first instances (--limit per task);
    --task, --status or --offset page the instances instead; --output-graph draws the run."""
    if output_graph is not None:
        from headwater.cli.graphs import graph_format

        graph_format(output_graph)  # a bad name or a missing `dot` fails before any request
    paging = task is not None or status is not None or offset > 0
    with connect(project) as client:
        found = client.flows.inspect(
            run_ref, instances=not paging, instance_limit=limit, project=project
        )
        page = None
        if paging:
            page = client.flows.instances_page(
                run_ref, task=task, status=status, offset=offset, limit=limit, project=project
            )
    from headwater.cli.runviews import page_view, run_view  # the views after the answer

    if output_graph is not None:
        from headwater.cli.graphs import write_graph

        write_graph(found, output_graph)
    if page is not None:
        emit(page, as_json, lambda p: page_view(found, p))
    else:
        emit(found, as_json, run_view)
    if output_graph is not None and not as_json:
        say(f"Wrote the graph of run {found.number} to {output_graph}.")

"""How flow runs look on a terminal: the bakes table, the inspect view, the live wait.

Shared by ``hw flow run --wait``, ``hw flow restart --wait``, ``hw bakes`` and ``hw inspect``
so a run reads the same wherever it is shown.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable

from rich.console import Group, RenderableType
from rich.live import Live
from rich.text import Text

from headwater.cli.graphs import task_counts
from headwater.cli.output import fields, paged, stderr, table
from headwater.client import Client
from headwater.domain.flowruns import RunState, TaskState
from headwater.schemas.common import Page
from headwater.schemas.flows import FlowRunOut, InstanceOut, RunTaskOut

QUIET_POLL = 2.0  # s between looks at a run whose end is far off, when nothing is shown
STATE_STYLES: dict[str, str] = {
    TaskState.WAITING.value: "dim",
    TaskState.PENDING_APPROVAL.value: "yellow",
    TaskState.RUNNING.value: "blue",
    TaskState.SUCCESS.value: "green",
    TaskState.FAILED.value: "red",
    TaskState.SKIPPED.value: "dim",
    TaskState.ABORTED.value: "magenta",
    "cached": "cyan",  # an instance the step cache served: a success that ran nothing
}


def state(value: str) -> Text:
    return Text(value.replace("_", " "), style=STATE_STYLES.get(value, ""))


def counts(task: RunTaskOut) -> str:
    """``2 success, 1 running`` for the task's instances; ``-`` before it has any."""
    found = task_counts(task)
    cached = sum(i.shown_status == "cached" for i in task.instances)
    if cached and len(task.instances) == sum(found.values()):
        # every instance is listed: the step cache's hits, successes that ran nothing, apart
        found["success"] -= cached
        found = {"cached": cached, **{s: n for s, n in found.items() if n}}
    return ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in found.items()) or "-"


def task_reason(task: RunTaskOut) -> str:
    """Why a task is as it is: its reason, who may approve it, or who decided."""
    if task.reason:
        return f"{task.reason}: {task.comment}" if task.comment else task.reason
    if task.status is TaskState.PENDING_APPROVAL and task.approvers:
        return "approvers: " + ", ".join(task.approvers)
    if task.decided_by:
        return f"decided by {task.decided_by}"
    return ""


def tasks_table(run: FlowRunOut) -> RenderableType:
    rows = [(t.title, t.type, state(t.status.value), counts(t), task_reason(t)) for t in run.tasks]
    return table(["TASK", "TYPE", "STATUS", "INSTANCES", "REASON"], rows)


def instances_table(run: FlowRunOut) -> RenderableType:
    return instance_rows([i for task in run.tasks for i in task.instances], run.tasks)


def instance_rows(instances: list[InstanceOut], tasks: list[RunTaskOut]) -> RenderableType:
    """A table of instances; each names its task (older servers: found by id in ``tasks``)."""
    owner = {i.id: t.title for t in tasks for i in t.instances}
    rows = [
        (
            i.task or owner.get(i.id, ""),
            i.experiment_number if i.experiment_number is not None else i.id,
            state(i.shown_status),
            " ".join(f"{k}={v}" for k, v in i.params.items()),
            " ".join(f"{k}={v}" for k, v in i.tags.items()),
            i.started_at,
            i.finished_at,
            instance_reason(i),
        )
        for i in instances
    ]
    if not rows:
        return Text("No instances yet.", style="dim")
    headers = ["TASK", "INSTANCE", "STATUS", "PARAMS", "TAGS", "STARTED", "FINISHED", "REASON"]
    return table(headers, rows)


def instance_reason(i: InstanceOut) -> str:
    """Its reason, and the step cache's word: where a hit came from, why a miss ran."""
    note = i.cache
    said = i.reason or ""
    if note is None:
        return said
    if note.hit:
        how = "kept" if note.kept else "cached"
        return f"{how} from run {note.from_run} (experiment {note.experiment_number})"
    if note.why:
        return "; ".join(filter(None, [said, f"not cached: {note.why}"]))
    return said


def headline(run: FlowRunOut) -> str:
    """``Run 3 of flow 'Train' (version 2): success``, with its reason when it has one."""
    text = f"Run {run.number} of flow {run.flow!r} (version {run.version}): "
    text += run.status.value.replace("_", " ")
    return text + (f" ({run.reason})" if run.reason else "")


def run_view(run: FlowRunOut) -> RenderableType:
    """What ``hw inspect`` prints: the run, its tasks with counts by state, then the first
    instances of each task, and how to page the rest."""
    more = [
        Text(
            f"Task {t.title!r}: {len(t.instances)} of {t.total:,} instances shown; more: "
            f"hw inspect {run.number} --task {shlex.quote(t.title)} --offset {len(t.instances)}",
            style="dim",
        )
        for t in run.tasks
        if t.total > len(t.instances) and t.instances
    ]
    return Group(run_about(run), Text(""), tasks_table(run), instances_table(run), *more)


def page_view(run: FlowRunOut, page: Page[InstanceOut]) -> RenderableType:
    """``hw inspect RUN --task T``: the run and its tasks, then one page of instances."""
    shown = paged(page, instance_rows(page.items, run.tasks))
    return Group(run_about(run), Text(""), tasks_table(run), shown)


def run_about(run: FlowRunOut) -> RenderableType:
    """The run's own fields, as ``hw inspect`` opens."""
    return fields(
        [
            ("Run", f"{run.number} ({run.id})"),
            ("Flow", f"{run.flow} (version {run.version})"),
            ("Status", state(run.status.value) + Text(f": {run.reason}" if run.reason else "")),
            ("Trigger", run.trigger),
            ("Only", run.only),
            ("Restart of", run.restart_of),
            ("Created by", run.created_by),
            ("Started", run.started_at),
            ("Ended", run.ended_at),
        ]
    )


def runs_table(runs: list[FlowRunOut]) -> RenderableType:
    if not runs:
        return Text("No runs yet. Start one: hw flow run --file flow.yaml")
    rows = [
        (
            r.number,
            r.flow,
            r.version,
            state(r.status.value),
            r.trigger,
            r.created_at,
            r.ended_at,
            r.reason or "",
        )
        for r in runs
    ]
    return table(["#", "FLOW", "VERSION", "STATUS", "TRIGGER", "CREATED", "ENDED", "REASON"], rows)


def _live_view(run: FlowRunOut) -> RenderableType:
    return Group(Text(headline(run), style="bold"), tasks_table(run))


def _changes_printer() -> Callable[[FlowRunOut], None]:
    """Off a terminal: one stderr line per task whose state or counts changed (CI logs)."""
    seen: dict[str, tuple[str, str]] = {}

    def update(run: FlowRunOut) -> None:
        for task in run.tasks:
            now = (task.status.value, counts(task))
            if seen.get(task.title) != now:
                seen[task.title] = now
                stderr().print(
                    Text(f"run {run.number}: {task.title}: {now[0]} ({now[1]})"),
                    soft_wrap=True,
                )

    return update


def wait_for(
    client: Client,
    run: FlowRunOut,
    *,
    quiet: bool,
    timeout: float | None = None,
    project: str | None = None,
) -> FlowRunOut:
    """Wait until the run has ended, showing its tasks live on stderr (a table on a terminal,
    a line per change elsewhere, nothing when ``quiet``); return the ended run."""
    if quiet:  # nothing shown: a long run is looked at every few seconds until its end nears
        return client.flows.wait(run, longest=QUIET_POLL, timeout=timeout, project=project)
    if not sys.stderr.isatty():
        printer = _changes_printer()
        return client.flows.wait(run, timeout=timeout, on_update=printer, project=project)
    with Live(_live_view(run), console=stderr(), transient=True, refresh_per_second=4) as live:
        return client.flows.wait(
            run,
            timeout=timeout,
            on_update=lambda seen: live.update(_live_view(seen)),
            project=project,
        )


def succeeded(run: FlowRunOut) -> bool:
    return run.status is RunState.SUCCESS

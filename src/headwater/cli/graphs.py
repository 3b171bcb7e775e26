"""Writing a run's graph to a file: DOT as text, SVG, PDF or PNG through Graphviz's ``dot``.

The format follows the file's extension, as in ``neuro-flow inspect --output-graph``. The
check comes before any request, so a typo in the name or a machine without Graphviz fails at
once, saying how to fix it, instead of after the run was fetched.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from headwater.domain.errors import HeadwaterError, InvalidInput
from headwater.domain.flowspec.dot import GraphTask, to_dot
from headwater.domain.jobs import JobState
from headwater.schemas.flows import FlowRunOut, RunTaskOut

TEXT_FORMATS = (".dot", ".gv")
RENDERED_FORMATS = (".svg", ".pdf", ".png")
DOT_TIMEOUT_S = 60
WHERE = "--output-graph"


def graph_format(path: Path) -> str:
    """The output format of ``path`` (``dot``, ``svg``, ...), checked to be one we can write."""
    suffix = path.suffix.lower()
    if suffix in TEXT_FORMATS:
        return "dot"
    if suffix not in RENDERED_FORMATS:
        known = ", ".join(TEXT_FORMATS + RENDERED_FORMATS)
        raise InvalidInput(
            f"cannot tell the graph format of {str(path)!r} from its extension",
            where=WHERE,
            hint=f"End the file name with one of {known}, e.g. --output-graph run.svg.",
        )
    if shutil.which("dot") is None:
        raise HeadwaterError(
            f"writing {suffix[1:].upper()} needs Graphviz's `dot` program, which is not installed",
            where=WHERE,
            hint="Install Graphviz (`apt-get install graphviz`, or `brew install graphviz` on "
            "macOS), or write DOT text with --output-graph run.dot and render it elsewhere.",
        )
    return suffix[1:]


def run_graph(run: FlowRunOut) -> str:
    """The run as DOT: tasks with their states and instance counts, edges from relations."""
    tasks = [
        GraphTask(
            title=task.title,
            type=task.type,
            state=task.status,
            instances=task_counts(task),
        )
        for task in run.tasks
    ]
    relations = [(r.source, r.to) for r in run.relations]
    return to_dot(tasks, relations, name=f"{run.flow} #{run.number}")


def task_counts(task: RunTaskOut) -> dict[str, int]:
    """A task's instances by state, in the states' own order: the server's counts (all of
    them, however many were listed), or the listed instances' from an older server."""
    if task.counts:
        return {s.value: task.counts[s.value] for s in JobState if task.counts.get(s.value)}
    return instance_counts([i.status for i in task.instances])


def instance_counts(states: list[JobState]) -> dict[str, int]:
    """How many instances are in each state, in the states' own order (queued first)."""
    return {s.value: n for s in JobState if (n := states.count(s))}


def write_graph(run: FlowRunOut, path: Path) -> None:
    """Write the run's graph to ``path`` in the format its extension names."""
    fmt = graph_format(path)
    document = run_graph(run)
    if fmt == "dot":
        _write_text(path, document)
        return
    try:
        done = subprocess.run(
            ["dot", f"-T{fmt}", "-o", str(path)],
            input=document.encode(),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HeadwaterError(
            f"Graphviz's `dot` could not render the graph: {exc}",
            where=str(path),
            hint="Write DOT instead (--output-graph run.dot) and render it with `dot` by hand.",
        ) from exc
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
        raise HeadwaterError(
            f"Graphviz's `dot` failed: {said}",
            where=str(path),
            hint="Check that the folder exists and is writable; --output-graph run.dot writes "
            "the text without Graphviz.",
        )


def _write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HeadwaterError(
            f"cannot write the graph: {exc.strerror or exc}",
            where=str(path),
            hint="Check that the folder exists and is writable.",
        ) from exc

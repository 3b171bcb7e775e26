"""A flow run as a Graphviz DOT document: one node per task, coloured by its state.

Pure text from plain data (titles, types, states, instance counts, relations), so the CLI's
``hw inspect --output-graph``, the docs' pictures and any other caller draw the same picture,
and the rules (quoting, colours, edges) are unit-tested without Graphviz installed. Rendering
DOT to SVG, PDF or PNG is the ``dot`` program's job, not this module's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from headwater.domain.flowruns import TaskState

# Fill colours per task state: light enough for black text, distinct in a legend.
COLOURS: Mapping[TaskState, str] = {
    TaskState.WAITING: "#e5e7eb",
    TaskState.PENDING_APPROVAL: "#fde68a",
    TaskState.RUNNING: "#93c5fd",
    TaskState.SUCCESS: "#86efac",
    TaskState.FAILED: "#fca5a5",
    TaskState.SKIPPED: "#f8fafc",
    TaskState.ABORTED: "#fdba74",
}
# A shape says what kind of task it is at a glance: a dataset, a command, an endpoint.
SHAPES: Mapping[str, str] = {"data": "cylinder", "exec": "box", "deploy": "component"}
LABELS: Mapping[TaskState, str] = {state: state.value.replace("_", " ") for state in TaskState}


@dataclass(frozen=True)
class GraphTask:
    """What the picture shows of one task; ``instances`` counts its instances by state."""

    title: str
    type: str
    state: TaskState
    instances: Mapping[str, int] = field(default_factory=dict)


def quote(text: str) -> str:
    """``text`` as a DOT double-quoted string that Graphviz shows exactly as written.

    Backslashes are doubled (Graphviz reads ``\\n``, ``\\N``, ``\\G`` in labels as escapes),
    quotes are escaped, and line breaks become ``\\n`` so one title stays one node.
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{escaped}"'


def counts_line(instances: Mapping[str, int]) -> str:
    """``3 instances: 2 success, 1 failed`` (states in the order given); empty when none."""
    total = sum(instances.values())
    if not total:
        return ""
    parts = ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in instances.items() if n)
    noun = "instance" if total == 1 else "instances"
    return f"{total} {noun}: {parts}"


def label(task: GraphTask) -> str:
    lines = [task.title, f"{task.type} · {LABELS[task.state]}"]
    counted = counts_line(task.instances)
    if counted:
        lines.append(counted)
    return "\n".join(lines)


def _node(task: GraphTask) -> str:
    style = "filled,dashed" if task.state is TaskState.SKIPPED else "filled"
    if task.type == "exec":
        style += ",rounded"
    attrs = {
        "label": quote(label(task)),
        "shape": SHAPES.get(task.type, "box"),
        "style": quote(style),
        "fillcolor": quote(COLOURS[task.state]),
    }
    return f"  {quote(task.title)} [{_attrs(attrs)}];"


def _attrs(attrs: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in attrs.items())


_HTML_DASHED = ' style="dashed"'


def _legend(states: Iterable[TaskState]) -> list[str]:
    """One plain node holding a small table of the colours; no edge reaches it."""
    rows = "".join(
        f'<tr><td bgcolor="{COLOURS[s]}"{_HTML_DASHED if s is TaskState.SKIPPED else ""}>'
        f"{LABELS[s]}</td></tr>"
        for s in states
    )
    table = f'<table border="0" cellborder="1" cellspacing="2" cellpadding="3">{rows}</table>'
    # A leading space keeps this id apart from every task: titles are stripped.
    return [f'  " legend" [shape=plaintext, fontsize=9, label=<{table}>];']


def to_dot(
    tasks: Sequence[GraphTask],
    relations: Iterable[tuple[str, str]],
    *,
    name: str = "flow",
    legend: bool = True,
) -> str:
    """The DOT document of a run: tasks in the order given, an edge per relation
    ``(from, to)`` whose ends are both tasks, and a legend of every state's colour."""
    titles = {t.title for t in tasks}
    out = [
        f"digraph {quote(name)} {{",
        f"  graph [label={quote(name)}, labelloc=t, rankdir=LR, fontname=Helvetica];",
        '  node [fontname=Helvetica, fontsize=11, color="#374151"];',
        '  edge [color="#6b7280"];',
    ]
    out += [_node(t) for t in tasks]
    seen: set[tuple[str, str]] = set()
    for source, target in relations:
        if source in titles and target in titles and (source, target) not in seen:
            seen.add((source, target))
            out.append(f"  {quote(source)} -> {quote(target)};")
    if legend:
        out += _legend(TaskState)
    out.append("}")
    return "\n".join(out) + "\n"

"""The run graph as DOT: quoting that keeps any title intact, a colour per state, edges.

Graphviz itself reads the documents where it is installed (``scripts/system-deps`` puts it
on CI), so "valid DOT" means what ``dot`` accepts, not what a regex here believes.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.flowruns import TaskState
from headwater.domain.flowspec.dot import COLOURS, GraphTask, counts_line, quote, to_dot

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")

ODD_TITLES = [
    'Train "big" model',
    "Processing the Data",
    "back\\slash \\n not a newline",
    "two\nlines",
    "{braces} [brackets] ->; =",
    "ünïcødé 数据",
]


def unquote(text: str) -> str:
    """What Graphviz shows for a quoted label: the inverse of ``quote`` (\\\\, \\", \\n)."""
    assert text[0] == text[-1] == '"'
    out, i = [], 1
    while i < len(text) - 1:
        if text[i] == "\\":
            nxt = text[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}[nxt])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def render_json(document: str) -> dict[str, Any]:
    done = subprocess.run(
        ["dot", "-Tjson"], input=document, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def drawn_lines(node: dict[str, Any]) -> list[str]:
    return [op["text"] for op in node.get("_ldraw_", []) if op["op"] == "T"]


@given(st.text(min_size=1, max_size=40))
def test_quote_round_trips_any_text(text: str) -> None:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    quoted = quote(text)
    assert "\n" not in quoted
    assert unquote(quoted) == normalised


@pytest.mark.parametrize("title", ODD_TITLES)
def test_titles_with_quotes_and_spaces_stay_one_node(title: str) -> None:
    document = to_dot([GraphTask(title, "exec", TaskState.RUNNING)], [], legend=False)
    node_lines = [line for line in document.splitlines() if line.startswith(f"  {quote(title)} [")]
    assert len(node_lines) == 1


def test_every_state_has_its_own_colour_and_nodes_are_filled_with_it() -> None:
    assert set(COLOURS) == set(TaskState)
    assert len(set(COLOURS.values())) == len(TaskState)
    tasks = [GraphTask(f"t {s.value}", "exec", s) for s in TaskState]
    document = to_dot(tasks, [], legend=False)
    for state in TaskState:
        line = next(x for x in document.splitlines() if x.startswith(f'  "t {state.value}" ['))
        assert f'fillcolor="{COLOURS[state]}"' in line
        assert "filled" in line
    skipped = next(x for x in document.splitlines() if x.startswith('  "t skipped" ['))
    assert "dashed" in skipped


def test_edges_follow_relations_once_and_skip_unknown_tasks() -> None:
    tasks = [
        GraphTask("Data", "data", TaskState.SUCCESS),
        GraphTask('Train "A"', "exec", TaskState.RUNNING),
        GraphTask("Deploy", "deploy", TaskState.WAITING),
    ]
    relations = [
        ("Data", 'Train "A"'),
        ("Data", 'Train "A"'),
        ('Train "A"', "Deploy"),
        ("Gone", "Deploy"),
    ]
    document = to_dot(tasks, relations)
    edges = [line.strip() for line in document.splitlines() if " -> " in line]
    assert edges == ['"Data" -> "Train \\"A\\"";', '"Train \\"A\\"" -> "Deploy";']


def test_labels_hold_title_type_state_and_instance_counts() -> None:
    task = GraphTask("Grid", "exec", TaskState.RUNNING, {"success": 2, "running": 1, "failed": 0})
    document = to_dot([task], [], legend=False)
    assert 'label="Grid\\nexec · running\\n3 instances: 2 success, 1 running"' in document
    assert counts_line({}) == ""
    assert counts_line({"queued": 1}) == "1 instance: 1 queued"
    assert counts_line({"pending_approval": 2}) == "2 instances: 2 pending approval"


def test_the_legend_names_every_state_and_can_be_left_out() -> None:
    with_legend = to_dot([GraphTask("a", "exec", TaskState.WAITING)], [])
    assert '" legend"' in with_legend
    for state in TaskState:
        assert COLOURS[state] in with_legend
        assert state.value.replace("_", " ") in with_legend
    assert "legend" not in to_dot([GraphTask("a", "exec", TaskState.WAITING)], [], legend=False)


def test_a_task_named_legend_does_not_collide_with_the_legend() -> None:
    document = to_dot([GraphTask("legend", "exec", TaskState.WAITING)], [])
    assert '  "legend" [' in document
    assert '  " legend" [' in document


@needs_dot
def test_graphviz_reads_back_names_edges_and_labels_exactly() -> None:
    tasks = [GraphTask(title, "exec", TaskState.SUCCESS, {"success": 1}) for title in ODD_TITLES]
    relations = list(itertools.pairwise(ODD_TITLES))
    graph = render_json(to_dot(tasks, relations, name='run "7"'))
    assert graph["name"] == 'run "7"'
    # ids keep escapes (only \" is read); what a person sees is the drawn label
    nodes = [o for o in graph["objects"] if o["name"] != " legend"]
    shown = {o["_gvid"]: drawn_lines(o) for o in nodes}
    assert len(nodes) == len(ODD_TITLES)
    for node, title in zip(nodes, ODD_TITLES, strict=True):
        assert shown[node["_gvid"]][: title.count("\n") + 1] == title.split("\n")
        assert shown[node["_gvid"]][-1] == "1 instance: 1 success"
        assert node["fillcolor"] == COLOURS[TaskState.SUCCESS]
    title_of = {node["_gvid"]: title for node, title in zip(nodes, ODD_TITLES, strict=True)}
    edges = [(title_of[e["tail"]], title_of[e["head"]]) for e in graph["edges"]]
    assert edges == relations


@needs_dot
def test_graphviz_renders_svg_with_the_legend() -> None:
    document = to_dot([GraphTask("a b", "data", TaskState.PENDING_APPROVAL)], [])
    done = subprocess.run(
        ["dot", "-Tsvg"], input=document, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "<svg" in done.stdout
    assert "pending approval" in done.stdout

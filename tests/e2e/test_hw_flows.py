"""``hw flow``, ``hw bakes`` and ``hw inspect`` end to end, against a real ``hw server``.

Each test works in a project of its own (the server is shared by the session). The tasks'
commands are small Python scripts written into the test's folder and called by absolute path,
so no project files need syncing.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Hw, make_hw, unique
from tests.e2e.test_hw_cli import one_paragraph_error

RUN_TIMEOUT_S = 60
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")

LOAD = "print('hw_tag_rows: 100')\n"
TRAIN = """\
import os
lr = float(os.environ['HW_TAG_LR'])
print('hw_tag_score:', lr * 10)
"""
PICK = "print('hw_tag_picked: yes')\n"


def project(admin: Hw) -> str:
    made = admin.json("project", "create", unique("flows"))
    return str(made["id"])


def script(folder: Path, name: str, text: str) -> str:
    """A command that runs ``text`` as a Python file (by absolute path, quoted for YAML)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return f"{sys.executable} {path}"


def grid_flow(folder: Path, name: str) -> str:
    """Three tasks: one instance, a grid of two, then the best of those by a condition."""
    return f"""\
flow: {name}
tasks:
  - title: Load data
    type: exec
    input: {script(folder, "load.py", LOAD)}
    computes: [default]
  - title: Train "fast" model
    type: exec
    input: {script(folder, "train.py", TRAIN)}
    computes: [default]
    params:
      - key: lr
        value: [0.1, 0.5]
  - title: Pick best
    type: exec
    input: {script(folder, "pick.py", PICK)}
    computes: [default]
    conditions:
      - task: Train "fast" model
        objective: max
        tag_key: score
relations:
  - from: Load data
    to: Train "fast" model
  - from: Train "fast" model
    to: Pick best
"""


def approval_flow(folder: Path, name: str) -> str:
    return f"""\
flow: {name}
tasks:
  - title: Build
    type: exec
    input: {script(folder, "build.py", LOAD)}
    computes: [default]
  - title: Ship it
    type: exec
    input: {script(folder, "ship.py", PICK)}
    computes: [default]
    conditions:
      - objective: human_validation
        value: admin
relations:
  - from: Build
    to: Ship it
"""


def write_flow(tmp_path: Path, text: str, name: str = "flow.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def inspect_until(admin: Hw, pid: str, run: int, want: set[str]) -> dict[str, Any]:
    """``hw inspect --json`` until the run's status is one of ``want``."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        seen: dict[str, Any] = admin.json("inspect", str(run), "-p", pid)
        if seen["status"] in want:
            return seen
        assert time.monotonic() < deadline, seen
        time.sleep(0.2)


def task(run: dict[str, Any], title: str) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in run["tasks"] if t["title"] == title)
    return found


def test_import_is_versioned_and_exports_round_trip(
    admin: Hw, tmp_path: Path, scripts: Path
) -> None:
    pid = project(admin)
    name = unique("Import flow")
    text = grid_flow(scripts, name)
    path = write_flow(tmp_path, text)

    first = admin.json("flow", "import", "--file", str(path), "-p", pid)
    assert (first["name"], first["latest_version"], first["created"]) == (name, 1, True)
    again = admin.json("flow", "import", "--file", str(path), "-p", pid)
    assert (again["latest_version"], again["created"]) == (1, False)
    assert "unchanged" in admin("flow", "import", "--file", str(path), "-p", pid).stdout

    listed = admin.json("flow", "list", "-p", pid)
    assert [f["name"] for f in listed["items"]] == [name]
    assert listed["total"] == 1

    exported = admin("flow", "export", name, "-p", pid).stdout
    out = tmp_path / "exported.yaml"
    admin("flow", "export", name, "--version", "1", "-o", str(out), "-p", pid)
    assert out.read_text() == exported
    # what export prints imports back as the same flow: no new version
    same = admin.json("flow", "import", "--file", str(out), "-p", pid)
    assert (same["latest_version"], same["created"]) == (1, False)

    changed = write_flow(tmp_path, text.replace("[0.1, 0.5]", "[0.1, 0.2, 0.5]"), "v2.yaml")
    second = admin.json("flow", "import", "--file", str(changed), "-p", pid)
    assert (second["latest_version"], second["created"]) == (2, True)
    versions = admin.json("flow", "versions", name, "-p", pid)
    assert sorted(v["number"] for v in versions) == [1, 2]
    assert {v["tasks"] for v in versions} == {3}
    assert "0.2" in admin("flow", "export", name, "-p", pid).stdout
    assert "0.2" not in admin("flow", "export", name, "--version", "1", "-p", pid).stdout
    table = admin("flow", "versions", name, "-p", pid).stdout
    assert "VERSION" in table
    assert "admin" in table


def test_an_invalid_file_names_file_line_and_key_and_stores_nothing(
    admin: Hw, tmp_path: Path, scripts: Path
) -> None:
    pid = project(admin)
    name = unique("Broken")
    text = grid_flow(scripts, name).replace("    params:\n", "    parms:\n")
    path = write_flow(tmp_path, text, "broken.yaml")
    line = text.splitlines().index("    parms:") + 1

    bad = admin("flow", "import", "--file", str(path), "-p", pid, code=1)
    one_paragraph_error(bad, f"{path}:{line}", "parms")
    assert "params" in bad.stderr  # how to fix it
    bad_run = admin("flow", "run", "--file", str(path), "-p", pid, code=1)
    one_paragraph_error(bad_run, f"{path}:{line}", "parms")

    assert admin.json("flow", "list", "-p", pid)["total"] == 0
    assert admin.json("bakes", "-p", pid)["total"] == 0
    missing = admin("flow", "versions", name, "-p", pid, code=1)
    one_paragraph_error(missing, name)


def test_run_wait_a_grid_then_inspect_bakes_and_graphs(
    admin: Hw, tmp_path: Path, scripts: Path
) -> None:
    pid = project(admin)
    name = unique("Grid flow")
    path = write_flow(tmp_path, grid_flow(scripts, name))

    ended = admin.json("flow", "run", "--file", str(path), "--wait", "--timeout", "60", "-p", pid)
    assert ended["status"] == "success", ended
    number = ended["number"]

    seen = admin.json("inspect", str(number), "-p", pid)
    assert {"id", "status", "trigger", "tasks"} <= set(seen)
    assert seen["status"] == "success"
    assert seen["trigger"] == "manual"
    assert [t["title"] for t in seen["tasks"]] == ["Load data", 'Train "fast" model', "Pick best"]
    for t in seen["tasks"]:
        assert {"title", "type", "status", "instances"} <= set(t)
        assert (t["type"], t["status"]) == ("exec", "success")
        for i in t["instances"]:
            assert {"id", "status", "params", "tags", "started_at", "finished_at"} <= set(i)
            assert i["status"] == "success"
    counts = [len(t["instances"]) for t in seen["tasks"]]
    assert counts == [1, 2, 1]  # the grid of two, then the max of them
    train = task(seen, 'Train "fast" model')
    assert sorted(i["params"]["lr"] for i in train["instances"]) == ["0.1", "0.5"]
    assert sorted(i["tags"]["score"] for i in train["instances"]) == ["1.0", "5.0"]
    assert task(seen, "Pick best")["instances"][0]["tags"]["picked"] == "yes"

    table = admin("inspect", str(number), "-p", pid).stdout
    assert "Pick best" in table
    assert "2 success" in table
    assert "lr=0.5" in table

    bakes = admin.json("bakes", "-p", pid)
    assert bakes["total"] == 1
    assert [(b["number"], b["flow"], b["status"]) for b in bakes["items"]] == [
        (number, name, "success")
    ]
    assert admin.json("bakes", "--flow", name, "-p", pid)["total"] == 1
    other = unique("other")
    one_paragraph_error(admin("bakes", "--flow", other, "-p", pid, code=1), other)
    assert name in admin("bakes", "-p", pid).stdout

    dot = tmp_path / "run.dot"
    wrote = admin("inspect", str(number), "--output-graph", str(dot), "-p", pid)
    assert str(dot) in wrote.stdout
    graph = dot.read_text()
    assert graph.startswith("digraph ")
    assert '"Load data" -> "Train \\"fast\\" model";' in graph
    assert '"Train \\"fast\\" model" -> "Pick best";' in graph
    assert "2 instances: 2 success" in graph

    # --json with a graph: the file is written and stdout stays one JSON document
    also = admin.json("inspect", str(number), "--output-graph", str(tmp_path / "b.dot"), "-p", pid)
    assert also["id"] == seen["id"]
    assert (tmp_path / "b.dot").read_text() == graph


def test_inspect_pages_a_wide_task_and_hw_flow_inspect_is_the_same(
    admin: Hw, tmp_path: Path, scripts: Path
) -> None:
    """Thirty instances: `hw inspect` shows each task's counts and its first --limit
    instances with the command for the next page; --task/--offset/--status page them
    (--json: one page); `hw flow inspect` reads the same."""
    pid = project(admin)
    name = unique("Wide flow")
    values = ", ".join(str(i) for i in range(30))
    text = (
        f"flow: {name}\ntasks:\n  - title: Fan\n    type: exec\n"
        f"    input: {script(scripts, 'pass.py', 'pass')}\n    computes: [default]\n"
        f"    params:\n      - key: i\n        value: [{values}]\nrelations: []\n"
    )
    path = write_flow(tmp_path, text)
    ended = admin.json("flow", "run", "--file", str(path), "--wait", "--timeout", "120", "-p", pid)
    assert ended["status"] == "success", ended
    number = str(ended["number"])

    seen = admin.json("inspect", number, "--limit", "5", "-p", pid)
    [fan] = seen["tasks"]
    assert fan["counts"] == {"success": 30}
    assert fan["total"] == 30
    assert [i["params"]["i"] for i in fan["instances"]] == ["0", "1", "2", "3", "4"]
    shown = admin("inspect", number, "--limit", "5", "-p", pid).stdout
    assert "30 success" in shown
    assert f"5 of 30 instances shown; more: hw inspect {number} --task Fan --offset 5" in shown

    page = admin.json("flow", "inspect", number, "--task", "Fan", "--offset", "25", "-p", pid)
    assert page["total"] == 30
    assert page["offset"] == 25
    assert [i["params"]["i"] for i in page["items"]] == ["25", "26", "27", "28", "29"]
    assert all(i["task"] == "Fan" for i in page["items"])
    assert admin.json("inspect", number, "--status", "failed", "-p", pid)["total"] == 0
    table = admin("flow", "inspect", number, "--task", "Fan", "--limit", "10", "-p", pid).stdout
    assert "i=9" in table
    assert "10 of 30 shown; next: --offset 10" in table


def test_endpoints_list_what_deploy_tasks_defined_and_page(admin: Hw, tmp_path: Path) -> None:
    # a deploy task's file_name must exist: with no parent experiment, in the project's files
    folder = tmp_path / unique("serving")
    folder.mkdir()
    (folder / "predict.py").write_text("def predict(x):\n    return x\n")
    pid = str(admin.json("link", "--sync", cwd=folder)["project"]["id"])
    assert "No endpoints yet" in admin("endpoints", "-p", pid).stdout
    tasks = "".join(
        f"""  - title: Serve {n}
    type: deploy
    endpoint_title: api-{n}
    file_name: predict.py
    function_name: predict
    min_replica: 1
    max_replica: 2
    computes: [default]
"""
        for n in (1, 2, 3)
    )
    path = write_flow(tmp_path, f"flow: {unique('Deploys')}\ntasks:\n{tasks}relations: []\n")
    ended = admin.json("flow", "run", "--file", str(path), "--wait", "--timeout", "60", "-p", pid)
    assert ended["status"] == "success", ended
    listed = admin.json("endpoints", "-p", pid)
    assert listed["total"] == 3
    assert [(e["title"], e["flow_run"]) for e in listed["items"]] == [
        (f"api-{n}", ended["number"]) for n in (1, 2, 3)
    ]
    # a deploy task deploys now (its endpoint used to stay 'defined': nothing served)
    assert {e["status"] for e in listed["items"]} <= {"deploying", "running"}
    shown = admin("endpoints", "--limit", "2", "-p", pid).stdout
    assert "predict.py:predict" in shown
    assert "api-3" not in shown
    assert "2 of 3 shown; next: --offset 2" in shown
    assert "api-3" in admin("endpoints", "--offset", "2", "-p", pid).stdout
    for n in (1, 2, 3):  # their replicas would run on for the rest of the suite
        admin("endpoint", "delete", f"api-{n}", "--yes", "-p", pid)


@needs_dot
def test_output_graph_renders_svg_through_graphviz(
    admin: Hw, tmp_path: Path, scripts: Path
) -> None:
    pid = project(admin)
    path = write_flow(tmp_path, approval_flow(scripts, unique("Svg flow")))
    started = admin.json("flow", "run", "--file", str(path), "-p", pid)
    inspect_until(admin, pid, started["number"], {"pending_approval"})
    svg = tmp_path / "run.svg"
    admin("inspect", str(started["number"]), "--output-graph", str(svg), "-p", pid)
    drawn = svg.read_text()
    assert "<svg" in drawn
    assert "Ship it" in drawn
    assert "pending approval" in drawn
    admin("flow", "stop", str(started["number"]), "-p", pid)


def test_output_graph_without_graphviz_says_how_to_install_it(admin: Hw, tmp_path: Path) -> None:
    empty = tmp_path / "no-bin"
    empty.mkdir()
    bad = admin("inspect", "1", "--output-graph", str(tmp_path / "g.svg"), PATH=str(empty), code=1)
    one_paragraph_error(bad, "--output-graph", "Graphviz", "apt-get install graphviz")
    wrong = admin("inspect", "1", "--output-graph", str(tmp_path / "g.txt"), code=1)
    one_paragraph_error(wrong, "--output-graph", ".svg")
    assert not (tmp_path / "g.svg").exists()


def test_a_task_waits_for_approval_until_hw_flow_approve(
    admin: Hw, tmp_path: Path, scripts: Path
) -> None:
    pid = project(admin)
    name = unique("Approve flow")
    path = write_flow(tmp_path, approval_flow(scripts, name))
    started = admin.json("flow", "run", "--file", str(path), "-p", pid)
    number = str(started["number"])

    waiting = inspect_until(admin, pid, started["number"], {"pending_approval"})
    assert task(waiting, "Build")["status"] == "success"
    ship = task(waiting, "Ship it")
    assert ship["status"] == "pending_approval"
    assert ship["approvers"] == ["admin"]
    shown = admin("inspect", number, "-p", pid).stdout
    row = next(line for line in shown.splitlines() if line.strip().startswith("Ship it"))
    assert "pending approval" in row
    assert "admin" in row  # who may approve it

    said = admin("flow", "approve", number, "Ship it", "-p", pid)
    assert "Approved 'Ship it'" in said.stdout
    done = inspect_until(admin, pid, started["number"], {"success", "failed", "aborted"})
    assert done["status"] == "success"
    assert task(done, "Ship it")["decided_by"] == "admin"
    again = admin("flow", "approve", number, "Ship it", "-p", pid, code=1)
    one_paragraph_error(again)


def test_reject_aborts_the_run(admin: Hw, tmp_path: Path, scripts: Path) -> None:
    pid = project(admin)
    path = write_flow(tmp_path, approval_flow(scripts, unique("Reject flow")))
    started = admin.json("flow", "run", "--file", str(path), "-p", pid)
    inspect_until(admin, pid, started["number"], {"pending_approval"})
    rejected = admin.json(
        "flow", "reject", str(started["number"]), "Ship it", "-p", pid, "--comment", "too slow"
    )
    assert rejected["number"] == started["number"]
    done = inspect_until(admin, pid, started["number"], {"success", "failed", "aborted"})
    assert done["status"] == "aborted"
    assert task(done, "Ship it")["status"] == "aborted"
    assert task(done, "Ship it")["comment"] == "too slow"
    # the table says why, too
    assert "too slow" in admin("inspect", str(started["number"]), "-p", pid).stdout


def test_param_overrides_make_a_bigger_grid_and_wait_exits_1_on_failure(
    admin: Hw, tmp_path: Path, scripts: Path
) -> None:
    pid = project(admin)
    name = unique("Params flow")
    path = write_flow(tmp_path, grid_flow(scripts, name))
    admin("flow", "import", "--file", str(path), "-p", pid)
    ended = admin.json(
        "flow",
        "run",
        name,
        "--param",
        'Train "fast" model.lr=0.1,0.2,0.3',
        "--wait",
        "--timeout",
        "60",
        "-p",
        pid,
    )
    assert ended["status"] == "success"
    train = task(admin.json("inspect", str(ended["number"]), "-p", pid), 'Train "fast" model')
    assert sorted(i["params"]["lr"] for i in train["instances"]) == ["0.1", "0.2", "0.3"]

    unknown = admin("flow", "run", name, "--param", "Nope.lr=1", "-p", pid, code=1)
    one_paragraph_error(unknown, "--param", "Load data")

    broken = scripts / "failing"
    failing = write_flow(broken, grid_flow(broken, unique("Failing flow")))
    (broken / "train.py").write_text("raise SystemExit(3)\n")
    failed = admin("flow", "run", "--file", str(failing), "--wait", "-p", pid, code=1)
    assert "failed" in failed.stdout


def test_triggers_are_added_listed_and_removed(admin: Hw, tmp_path: Path, scripts: Path) -> None:
    pid = project(admin)
    name = unique("Trigger flow")
    admin(
        "flow", "import", "--file", str(write_flow(tmp_path, grid_flow(scripts, name))), "-p", pid
    )
    dataset = unique("images")
    admin("dataset", "create", dataset, "-p", pid)

    hook = admin.json("flow", "trigger", "add", name, "--webhook", "-p", pid)
    assert hook["kind"] == "webhook"
    assert hook["url"]
    assert hook["token"]
    on_data = admin.json("flow", "trigger", "add", name, "--dataset", dataset, "-p", pid)
    assert (on_data["kind"], on_data["dataset"]) == ("dataset", dataset)

    listed = admin.json("flow", "trigger", "list", name, "-p", pid)
    assert sorted(t["id"] for t in listed) == sorted([hook["id"], on_data["id"]])
    assert all(t.get("token") is None for t in listed)  # shown once, when created
    assert dataset in admin("flow", "trigger", "list", name, "-p", pid).stdout

    admin("flow", "trigger", "remove", name, hook["id"], "-p", pid)
    left = admin.json("flow", "trigger", "list", name, "-p", pid)
    assert [t["id"] for t in left] == [on_data["id"]]


def test_usage_errors_exit_2(admin: Hw, tmp_path: Path) -> None:
    both = admin("flow", "run", "x", "--file", str(tmp_path / "f.yaml"), code=2)
    assert "NAME" in both.stderr
    neither = admin("flow", "run", code=2)
    assert "--file" in neither.stderr
    admin("flow", "run", "x", "--inputs-from", "3", code=2)
    admin("flow", "trigger", "add", "x", code=2)


def test_restart_help_says_it_reuses_the_runs_version(tmp_path: Path) -> None:
    """Restart runs the old run's version (engine.flowstart.start_run); its help said "latest"."""
    shown = make_hw(tmp_path, "anyone")("flow", "restart", "--help").stdout
    words = " ".join(shown.replace("│", " ").split())
    assert "default: latest" not in words
    assert "default: the version the run used" in words


def test_a_rerun_is_cached_and_no_cache_refresh_and_clear_cache_run_it_again(
    admin: Hw, tmp_path: Path, scripts: Path
) -> None:
    pid = project(admin)
    name = unique("Cached flow")
    path = write_flow(tmp_path, grid_flow(scripts, name))
    first = admin.json("flow", "run", "--file", str(path), "--wait", "-p", pid)
    assert first["status"] == "success"

    again = admin.json("flow", "run", name, "--wait", "-p", pid)
    assert again["status"] == "success"
    for t in again["tasks"]:
        assert all(i["cache"]["hit"] for i in t["instances"]), t
    table = admin("inspect", str(again["number"]), "-p", pid).stdout
    assert "cached" in table
    assert f"cached from run {first['number']}" in " ".join(table.replace("│", " ").split())

    fresh = admin.json("flow", "run", name, "--no-cache", "--wait", "-p", pid)
    assert not any(i["cache"]["hit"] for t in fresh["tasks"] for i in t["instances"])
    refreshed = admin.json("flow", "run", name, "--refresh", "Load data", "--wait", "-p", pid)
    assert task(refreshed, "Load data")["instances"][0]["cache"]["why"] == "--refresh"
    assert task(refreshed, "Pick best")["instances"][0]["cache"]["hit"]  # same outputs

    cleared = admin.json("flow", "clear-cache", name, "Pick best", "-p", pid)
    assert cleared["cleared"] >= 1
    said = admin("flow", "clear-cache", name, "-p", pid).stdout
    assert "Cleared" in said
    assert f"flow {name!r}" in said
    after = admin.json("flow", "run", name, "--wait", "-p", pid)
    assert not any(i["cache"]["hit"] for t in after["tasks"] for i in t["instances"])
    assert "--from-failed" in admin("flow", "restart", "--help").stdout

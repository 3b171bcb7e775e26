"""TensorBoard through the workspace proxy (issue 15), against a real ``hw server`` whose local
worker runs tasks in the sandbox: an experiment writes a tfevents file with TensorBoard's own
event writer into ``tensorboard/`` of its output; ``POST .../tensorboards`` serves its
committed logs through ``/workspaces/<id>/`` (200 with a login, 401 without, 403 for a
read-only member) and the scalars API lists the run's tag; with the project setting
``tensorboard`` on, a running experiment gets one (its live logs) that ends with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_workspaces import PASSWORD, WAIT, Site, _site
from tests.support.waiting import wait_until

pytest.importorskip("tensorboard")

# Writes loss at steps 0..2 with TensorBoard's own event writer; then, with an argument,
# keeps running (the automatic TensorBoard's experiment) until stopped.
WRITE_EVENTS = (
    "import os, sys, time\n"
    "from tensorboard.compat.proto import event_pb2, summary_pb2\n"
    "from tensorboard.summary.writer.event_file_writer import EventFileWriter\n"
    "w = EventFileWriter(os.path.join(os.environ['HW_OUTPUT_DIR'], 'tensorboard'))\n"
    "for step in range(3):\n"
    "    v = summary_pb2.Summary.Value(tag='loss', simple_value=1.0 / (step + 1))\n"
    "    s = summary_pb2.Summary(value=[v])\n"
    "    w.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=s))\n"
    "w.close()\n"
    "print('wrote events', flush=True)\n"
    "while len(sys.argv) > 1: time.sleep(1)\n"
)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    tmp = Path(f"/tmp/hw-tb-{uuid.uuid4().hex[:6]}")  # short: a Unix socket's path
    tmp.mkdir()
    try:
        yield from _site(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_experiment(site: Site, *args: str) -> dict[str, Any]:
    script = site.sync({"write_events.py": WRITE_EVENTS})
    assert script
    command = " ".join(["python", "write_events.py", *args])
    made = site.api("POST", "/experiments", json={"command": command, "computes": ["tiny"]})
    assert made.status_code == 201, made.text
    [experiment] = made.json()
    return dict(experiment)


def experiment_in(site: Site, ref: str, *states: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        shown = site.api("GET", f"/experiments/{ref}").json()
        return shown if shown["state"] in states else None

    def why() -> str:
        logs = site.api("GET", f"/experiments/{ref}/logs").text
        return f"{site.api('GET', f'/experiments/{ref}').text}\n{logs[-3000:]}"

    return wait_until(done, timeout=WAIT, message=why)


def tags_of(site: Site, board: dict[str, Any]) -> dict[str, Any]:
    answer = site.lab(board, "data/plugin/scalars/tags")
    assert answer.status_code == 200, answer.text[:500]
    found: dict[str, Any] = answer.json()
    return found


def test_a_tensorboard_serves_an_experiments_logs_through_the_proxy(site: Site) -> None:
    experiment = run_experiment(site)
    experiment_in(site, experiment["id"], "success")
    made = site.api(
        "POST", "/tensorboards", json={"experiments": [experiment["number"]], "compute": "tiny"}
    )
    assert made.status_code == 201, made.text
    board = made.json()
    assert board["kind"] == "tensorboard"
    assert board["url"] == f"/workspaces/{board['id']}/"
    board = site.state_is(board["id"], "running")
    # the run is named by the experiment's number; the scalars API lists its tag
    tags = wait_until(
        lambda: tags_of(site, board) or None,
        timeout=WAIT,
        message=lambda: site.explain(board["id"]),
    )
    run = f"{experiment['number']}/tensorboard"
    assert list(tags) == [run]
    assert "loss" in tags[run]
    series = site.lab(
        board,
        "data/plugin/scalars/scalars",
        params={"run": run, "tag": "loss"},
    )
    assert series.status_code == 200, series.text
    assert [point[1] for point in series.json()] == [0, 1, 2]
    # TensorBoard's page itself, behind a session cookie
    name, _ = site.user("all", "all")
    with httpx.Client(base_url=site.server.url) as browser:
        login = browser.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert login.status_code == 200, login.text
        page = browser.get(f"/workspaces/{board['id']}/")
        assert page.status_code == 200, page.text[:500]
        assert "<tf-tensorboard" in page.text or "TensorBoard" in page.text
    # without a login: 401; a read-only member: 403, as for a JupyterLab workspace
    bare = site.http.get(f"/workspaces/{board['id']}/data/plugin/scalars/tags")
    assert bare.status_code == 401
    _, reader = site.user("read", "read")
    refused = site.lab(board, "", headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403, refused.text
    # listed as a TensorBoard, not as a JupyterLab workspace; it has nothing to save
    listed = site.api("GET", "/tensorboards").json()
    assert [b["id"] for b in listed] == [board["id"]]
    assert board["id"] not in [w["id"] for w in site.api("GET", "/workspaces").json()]
    assert site.api("POST", f"/workspaces/{board['id']}/save", json={}).status_code == 409
    stopped = site.api("POST", f"/workspaces/{board['id']}/stop", json={})
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["commit"] is None
    site.state_is(board["id"], "stopped")


def test_the_project_setting_gives_a_running_experiment_a_tensorboard_that_ends_with_it(
    site: Site,
) -> None:
    switched = site.api("PATCH", "/settings", json={"tensorboard": True})
    assert switched.status_code == 200, switched.text
    try:
        experiment = run_experiment(site, "--keep-running")
        number = experiment["number"]
        experiment_in(site, experiment["id"], "running")

        def board_of() -> dict[str, Any] | None:
            found = site.api("GET", f"/experiments/{number}/tensorboard")
            return dict(found.json()) if found.status_code == 200 else None

        board = wait_until(board_of, timeout=WAIT, message=lambda: site.server.log_text()[-3000:])
        assert board["follows"] == experiment["id"]
        assert board["name"] == f"tensorboard-{number}"
        board = site.state_is(board["id"], "running")
        # the running experiment's live logs, read-only in the TensorBoard's sandbox
        tags = wait_until(
            lambda: tags_of(site, board) or None,
            timeout=WAIT,
            message=lambda: site.explain(board["id"]),
        )
        assert list(tags) == [f"{number}/tensorboard"]
        assert "loss" in tags[f"{number}/tensorboard"]
        stopped = site.api("POST", f"/experiments/{number}/stop")
        assert stopped.status_code == 200, stopped.text
        ended = site.state_is(board["id"], "stopped")
        assert ended["reason"] == "its experiment ended"
        # one per experiment: not started again
        again = board_of()
        assert again is not None
        assert again["id"] == board["id"]
    finally:
        assert site.api("PATCH", "/settings", json={"tensorboard": False}).is_success


def test_without_experiments_or_a_flow_run_a_start_is_refused(site: Site) -> None:
    refused = site.api("POST", "/tensorboards", json={})
    assert refused.status_code == 400, refused.text
    assert refused.json()["where"] == "experiments"
    missing = site.api("GET", "/experiments/9999/tensorboard")
    assert missing.status_code == 404


def hw(site: Site, tmp: Path, *args: str) -> Any:
    """``hw ... --json`` in a subprocess against the site, as the admin; its JSON answer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(
        HEADWATER_URL=site.server.url,
        HEADWATER_TOKEN=site.server.admin_token,
        HEADWATER_PROJECT=site.project,
        HEADWATER_CONFIG_DIR=str(tmp),
    )
    done = subprocess.run(
        [str(Path(sys.executable).parent / "hw"), *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_hw_tensorboard_starts_lists_opens_and_stops_one(site: Site, tmp_path: Path) -> None:
    experiment = run_experiment(site)
    experiment_in(site, experiment["id"], "success")
    number = str(experiment["number"])
    started = hw(
        site, tmp_path, "tensorboard", "start", "--experiments", number, "--name", "cli", "--wait"
    )
    assert started["state"] == "running"
    assert started["kind"] == "tensorboard"
    listed = hw(site, tmp_path, "tensorboard", "list", "--active")
    assert [b["name"] for b in listed] == ["cli"]
    opened = hw(site, tmp_path, "tensorboard", "open", "cli", "--no-browser")
    assert opened["url"] == f"{site.server.url}/workspaces/{started['id']}/"
    tags = wait_until(lambda: tags_of(site, started) or None, timeout=WAIT)
    assert list(tags) == [f"{number}/tensorboard"]
    stopped = hw(site, tmp_path, "tensorboard", "stop", "cli")
    assert stopped["state"] == "stopped"


def test_a_flow_runs_experiments_are_one_tensorboard_each_run_named_by_its_number(
    site: Site,
) -> None:
    site.sync({"write_events.py": WRITE_EVENTS})
    task = "    type: exec\n    input: python write_events.py\n    computes: [tiny]\n"
    flow = f"flow: curves\ntasks:\n  - title: A\n{task}  - title: B\n{task}relations: []\n"
    assert site.api("POST", "/flows", json={"yaml": flow}).status_code in (200, 201)
    listed = site.api("GET", "/experiments", params={"limit": 100}).json()["items"]
    before = max((e["number"] for e in listed), default=0)
    made = site.api("POST", "/flows/curves/runs", json={})
    assert made.status_code == 201, made.text
    run = made.json()

    def ended() -> dict[str, Any] | None:
        shown = site.api("GET", f"/flow-runs/{run['id']}").json()
        return shown if shown["status"] in ("success", "failed", "aborted") else None

    assert wait_until(ended, timeout=WAIT)["status"] == "success"
    started = site.api(
        "POST", "/tensorboards", json={"flow_run": str(run["number"]), "name": "curves"}
    )
    assert started.status_code == 201, started.text
    board = site.state_is(started.json()["id"], "running")
    numbers = sorted(
        e["number"]
        for e in site.api("GET", "/experiments", params={"limit": 100}).json()["items"]
        if e["number"] > before and e["command"] == "python write_events.py"
    )
    assert len(numbers) == 2
    expected = {f"{n}/tensorboard" for n in numbers}
    tags = wait_until(
        lambda: (found := tags_of(site, board)) and set(found) == expected and found,
        timeout=WAIT,
        message=lambda: f"{tags_of(site, board)} != {expected}",
    )
    assert all("loss" in tags[name] for name in expected)
    assert site.api("POST", f"/workspaces/{board['id']}/stop", json={}).status_code == 200

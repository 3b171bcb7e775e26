"""Wide flow runs on a real database (SQLite and PostgreSQL), the engine driven by hand with
the fake executor: a grid of hundreds runs to the end through the paged queue and the flow
pass's probe; a stop ends every instance at once and launches nothing after; a run's
instances are paged; the instance limit is the server's setting, checked at import."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.domain.jobs import JobState
from headwater.engine.scheduler import QUEUE_PAGE, Engine
from headwater.executors.fake import FakeExecutor
from tests.support.api import Api, Server, assert_error

WIDE = 300  # over QUEUE_PAGE: the queue is read in several pages


@pytest.fixture
def fake_server(home: Path, database_url: str | None) -> Iterator[Server]:
    srv = Server(home, database_url, executor="fake", flow_max_instances=1_000)
    yield srv
    srv.close()


def grid_flow(name: str, size: int, then: bool = False) -> str:
    values = ", ".join(str(i) for i in range(size))
    text = (
        f"flow: {name}\ntasks:\n  - title: Fan\n    type: exec\n    input: python -c pass\n"
        f"    computes: [default]\n    params:\n      - key: i\n        value: [{values}]\n"
    )
    if then:
        text += (  # once, after all of them (single mode)
            "  - title: Then\n    type: exec\n    input: echo x\n    computes: [default]\n"
            "    single_mode: true\n"
        )
        return text + "relations:\n  - from: Fan\n    to: Then\n"
    return text + "relations: []\n"


def start(api: Api, pid: str, text: str) -> dict[str, Any]:
    imported = api.post(f"/projects/{pid}/flows", json={"yaml": text, "file_name": "f.yaml"})
    assert imported.status_code == 200, imported.text
    name = imported.json()["name"]
    run = api.post(f"/projects/{pid}/flows/{name}/runs", json={})
    assert run.status_code == 201, run.text
    body: dict[str, Any] = run.json()
    return body


def engine_of(server: Server) -> tuple[Engine, FakeExecutor]:
    engine: Engine = server.app.state.platform.engine
    assert isinstance(engine.executor, FakeExecutor)
    return engine, engine.executor


def finish_launched(engine: Engine, executor: FakeExecutor) -> int:
    """Every launched task reports success (a short one: running and its end at once)."""
    ended = 0
    for eid in sorted(executor.alive):
        engine.report(
            eid,
            JobState.SUCCESS,
            reason=None,
            exit_code=0,
            runner=None,
            output_commit=None,
            running_for=0.01,
        )
        executor.alive.discard(eid)
        ended += 1
    return ended


def test_a_wide_grid_runs_to_the_end_two_at_a_time(fake_server: Server) -> None:
    assert WIDE > 2 * QUEUE_PAGE
    api = fake_server.admin
    pid = api.create_project()["id"]
    run = start(api, pid, grid_flow("Wide", WIDE, then=True))
    engine, executor = engine_of(fake_server)
    ended = 0
    for _ in range(WIDE):  # two slots: two at a time, then the task after
        engine.schedule()
        assert len(executor.alive) <= 2  # the machine's two cores, never more
        ended += finish_launched(engine, executor)
        engine.flows.advance()
        if not executor.alive and ended >= WIDE + 1:
            break
    seen = api.get(f"/projects/{pid}/flow-runs/{run['number']}?instances=false").json()
    assert seen["status"] == "success", (ended, seen["tasks"])
    fan = next(t for t in seen["tasks"] if t["title"] == "Fan")
    assert fan["counts"] == {"success": WIDE}
    assert fan["total"] == WIDE
    assert ended == WIDE + 1
    assert len(executor.launched) == WIDE + 1  # each once


def test_stop_ends_every_instance_at_once_and_nothing_starts_after(fake_server: Server) -> None:
    api = fake_server.admin
    pid = api.create_project()["id"]
    run = start(api, pid, grid_flow("Stopped", WIDE, then=True))
    engine, executor = engine_of(fake_server)
    engine.schedule()
    running = sorted(executor.alive)
    assert len(running) == 2
    engine.report(
        running[0],
        JobState.RUNNING,
        reason=None,
        exit_code=None,
        runner=None,
        output_commit=None,
    )
    stopped = api.post(f"/projects/{pid}/flow-runs/{run['number']}/stop")
    assert stopped.status_code == 200, stopped.text
    body = stopped.json()
    assert body["status"] == "aborted"
    assert {t["title"]: t["status"] for t in body["tasks"]} == {"Fan": "aborted", "Then": "aborted"}
    fan = next(t for t in body["tasks"] if t["title"] == "Fan")
    assert fan["counts"] == {"aborted": WIDE}
    assert sorted(executor.cancelled) == running  # the running ones are signalled
    launched = len(executor.launched)
    assert engine.schedule() == 0
    engine.flows.advance()
    assert len(executor.launched) == launched == 2  # nothing launched after the stop
    page = api.get(
        f"/projects/{pid}/flow-runs/{run['number']}/instances",
        params={"status": "aborted", "limit": 500},
    ).json()
    assert page["total"] == WIDE
    assert {i["reason"] for i in page["items"]} == {"stopped by a user"}
    again = api.post(f"/projects/{pid}/flow-runs/{run['number']}/stop")
    assert again.json()["status"] == "aborted"  # a second stop changes nothing


def test_a_runs_instances_are_paged_with_counts_per_task(fake_server: Server) -> None:
    api = fake_server.admin
    pid = api.create_project()["id"]
    run = start(api, pid, grid_flow("Paged", WIDE))
    base = f"/projects/{pid}/flow-runs/{run['number']}"
    [fan] = api.get(base).json()["tasks"]
    assert fan["total"] == WIDE
    assert fan["counts"] == {"queued": WIDE}
    assert len(fan["instances"]) == 100  # the first 100 unless asked
    [few] = api.get(base, params={"instance_limit": 5}).json()["tasks"]
    assert [i["params"]["i"] for i in few["instances"]] == ["0", "1", "2", "3", "4"]
    seen: list[str] = []
    for offset in range(0, WIDE, 128):
        page = api.get(f"{base}/instances", params={"task": "Fan", "offset": offset, "limit": 128})
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["total"] == WIDE
        assert all(i["task"] == "Fan" for i in body["items"])
        seen += [i["params"]["i"] for i in body["items"]]
    assert seen == [str(i) for i in range(WIDE)]  # in the order made, none twice
    none = api.get(f"{base}/instances", params={"task": "Nope"}).json()
    assert none["total"] == 0
    assert none["items"] == []
    assert_error(api.get(f"{base}/instances", params={"limit": 501}), 422)
    assert_error(api.get(base, params={"instance_limit": 501}), 422)


def test_the_instance_limit_is_the_servers_setting_checked_at_import(
    fake_server: Server,
) -> None:
    api = fake_server.admin
    pid = api.create_project()["id"]
    over = api.post(
        f"/projects/{pid}/flows", json={"yaml": grid_flow("Over", 1_001), "file_name": "f.yaml"}
    )
    body = assert_error(over, 400)
    assert "task 'Fan' has a grid of 1,001 combinations, over the limit of 1,000" in body["detail"]
    assert "HEADWATER_FLOW_MAX_INSTANCES" in body["detail"]
    at = api.post(
        f"/projects/{pid}/flows", json={"yaml": grid_flow("At", 1_000), "file_name": "f.yaml"}
    )
    assert at.status_code == 200, at.text
    changed = api.post(
        f"/projects/{pid}/flows/At/runs",
        json={"params": {"Fan": {"i": [str(i) for i in range(1_001)]}}},
    )
    assert_error(changed, 400)  # --param TASK.KEY=... is checked the same way


def test_a_long_queue_starts_in_order_and_new_bad_work_fails_at_once(fake_server: Server) -> None:
    """Past the first page of the queue: the machine full, work queued since the last pass
    is still checked at once, and the queue keeps its order when room frees."""
    api = fake_server.admin
    pid = api.create_project()["id"]
    engine, executor = engine_of(fake_server)
    runs = [{"i": str(i)} for i in range(3 * QUEUE_PAGE)]
    made = api.post(f"/projects/{pid}/experiments", json={"command": "true", "runs": runs})
    assert made.status_code == 201, made.text
    ids = [e["id"] for e in made.json()]
    assert engine.schedule() == 2
    assert [launch.experiment_id for launch in executor.launched] == ids[:2]
    bad = api.post(
        f"/projects/{pid}/experiments",
        json={"command": "true", "runs": [{}], "computes": ["no-such"]},
    ).json()[0]
    assert engine.schedule() == 0  # full
    failed = api.get(f"/projects/{pid}/experiments/{bad['number']}").json()
    assert failed["state"] == "failed"
    assert "no compute template named 'no-such'" in failed["reason"]
    engine.transition(ids[0], JobState.SUCCESS)
    assert engine.schedule() == 1
    assert executor.launched[-1].experiment_id == ids[2]  # the oldest waiting, in order

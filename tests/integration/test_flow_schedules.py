"""Schedules on a real database (SQLite and PostgreSQL), with the clock in the test's hands:
``schedule:`` runs once at its moment, ``recurring:`` once per tick, and downtime that missed
many ticks gives one run, not one per tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from headwater.engine.triggers import Triggers
from headwater.server.platform import Platform
from tests.support.api import Server

START = datetime(2030, 1, 1, 0, 1, tzinfo=UTC)


def flow(name: str, when: str) -> str:
    return (
        f"flow: {name}\n{when}\ntasks:\n  - title: A\n    type: exec\n    input: echo a\n"
        "    computes: [default]\nrelations: []\n"
    )


def test_schedules_run_once_and_recurring_runs_once_per_tick_missed_or_not(
    server: Server,
) -> None:
    owner = server.create_user()
    pid = owner.create_project()["id"]
    cron, once = (
        flow("Cron", 'recurring: "*/10 * * * *"'),
        flow("Once", 'schedule: "01.01.2030 00:30"'),
    )
    for text in (cron, once):
        assert owner.post(f"/projects/{pid}/flows", json={"yaml": text}).status_code == 200
    platform: Platform = server.app.state.platform
    now = [START]
    triggers = Triggers(platform.db, tz=UTC, clock=lambda: now[0])

    def runs(name: str) -> list[str]:
        listed = owner.get(f"/projects/{pid}/flow-runs", params={"flow": name}).json()
        return [r["trigger"] for r in listed["items"]]

    def at(minutes: int) -> int:
        now[0] = START + timedelta(minutes=minutes)
        return triggers.check()

    assert at(0) == 0  # the cron line is first seen now: its first tick is 00:10
    assert at(4) == 0
    assert at(9) == 1  # 00:10
    assert runs("Cron") == ["recurring"]
    assert at(10) == 0  # the same tick never runs twice
    assert at(29) == 2  # 00:20 for Cron; 00:30 for Once
    assert runs("Once") == ["schedule"]
    assert at(95) == 1  # 01:36: the server was "down" over seven ticks: one run
    assert at(98) == 0  # 01:39
    assert at(99) == 1  # 01:40, the next tick
    assert len(runs("Cron")) == 4
    assert len(runs("Once")) == 1  # once means once


def test_a_new_version_moves_the_schedule(server: Server) -> None:
    owner = server.create_user()
    pid = owner.create_project()["id"]
    owner.post(
        f"/projects/{pid}/flows", json={"yaml": flow("Moved", 'schedule: "01.01.2030 00:30"')}
    )
    platform: Platform = server.app.state.platform
    now = [START + timedelta(minutes=30)]
    triggers = Triggers(platform.db, tz=UTC, clock=lambda: now[0])
    assert triggers.check() == 1
    # the same moment in a changed file does not run again; a new moment does, when it comes
    changed = flow("Moved", 'schedule: "01.01.2030 00:30"').replace("echo a", "echo b")
    owner.post(f"/projects/{pid}/flows", json={"yaml": changed})
    assert triggers.check() == 0
    later = changed.replace("00:30", "01:00")
    owner.post(f"/projects/{pid}/flows", json={"yaml": later})
    assert triggers.check() == 0
    now[0] = START + timedelta(minutes=60)
    assert triggers.check() == 1


def test_a_flow_says_when_it_runs_next(server: Server) -> None:
    owner = server.create_user()
    pid = owner.create_project()["id"]
    made = owner.post(
        f"/projects/{pid}/flows", json={"yaml": flow("Hourly", 'recurring: "0 * * * * UTC"')}
    ).json()
    assert made["recurring"] == "0 * * * * UTC"
    upcoming = datetime.fromisoformat(made["next_run_at"])
    assert upcoming.minute == 0
    assert timedelta(0) < upcoming - datetime.now(UTC) <= timedelta(hours=1)
    plain = owner.post(f"/projects/{pid}/flows", json={"yaml": flow("Plain", "")}).json()
    assert plain["next_run_at"] is None

"""``FlowsClient.watch`` (``hw flow run --wait``): looks that come soon while the run is young,
then at the pace at which its instances end, never further apart than ``poll``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from headwater.client.flows import FIRST_POLL, MIN_POLL, Pace, left_in
from headwater.domain.flowruns import RunState, TaskState
from headwater.schemas.flows import FlowRunOut, RunTaskOut


def _run(*tasks: RunTaskOut, status: RunState = RunState.RUNNING) -> FlowRunOut:
    now = datetime.now(UTC)
    return FlowRunOut(
        id="r1",
        number=1,
        project_id="p1",
        flow="f",
        version=1,
        status=status,
        trigger="manual",
        created_by="ann",
        created_at=now,
        started_at=now,
        ended_at=None,
        tasks=list(tasks),
    )


def _task(title: str, status: TaskState, **counts: int) -> RunTaskOut:
    return RunTaskOut(
        title=title, type="exec", status=status, counts=counts, total=sum(counts.values())
    )


def test_left_counts_instances_not_ended_and_one_for_each_task_not_started() -> None:
    run = _run(
        _task("Prep", TaskState.SUCCESS, success=3),
        _task("Fan out", TaskState.RUNNING, success=150, failed=2, running=2, queued=46),
        _task("Fan in", TaskState.WAITING),
        _task("Gate", TaskState.PENDING_APPROVAL),
    )
    assert left_in(run) == 2 + 46 + 1 + 1
    # a running task whose instances all ended (the engine has not seen it yet): none left
    assert left_in(_run(_task("Fan out", TaskState.RUNNING, success=4))) == 0


def test_a_young_run_is_looked_at_soon_then_no_further_apart_than_poll() -> None:
    pace = Pace(0.5)
    got = [pace.pause(5, now=float(t)) for t in range(6)]  # nothing ends: no pace to go by
    assert got == [FIRST_POLL, 2 * FIRST_POLL, 4 * FIRST_POLL, 8 * FIRST_POLL, 0.5, 0.5]


def test_looks_come_sooner_when_the_pace_says_the_rest_ends_sooner() -> None:
    pace = Pace(0.5)
    now = 0.0
    pauses: list[float] = []
    for left in (200, 180, 160, 140, 120, 100, 4, 1):
        pauses.append(pace.pause(left, now=now))
        now += pauses[-1]
    # 20 ended per look: the young looks, then the full poll while many are left
    assert pauses[:5] == [0.05, 0.1, 0.2, 0.4, 0.5]
    assert pauses[5] == 0.5
    # 96 ended in 0.5 s: the last 4 are due in about 0.02 s; then 1 at 3 per 0.02 s
    assert pauses[6] == pytest.approx(4 * 0.5 / 96)
    assert pauses[7] == pytest.approx(max(MIN_POLL, 1 * pauses[6] / 3))


def test_watch_reads_counts_while_it_waits_and_the_whole_run_once_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import headwater.client.flows as flows

    slept: list[float] = []
    monkeypatch.setattr(flows.time, "sleep", slept.append)
    seen = iter(
        [
            _run(_task("A", TaskState.RUNNING, queued=2)),
            _run(_task("A", TaskState.RUNNING, success=1, running=1)),
            _run(_task("A", TaskState.SUCCESS, success=2), status=RunState.SUCCESS),
        ]
    )
    asked: list[bool] = []

    def inspect(ref: str, *, instances: bool = True, **_: Any) -> FlowRunOut:
        asked.append(instances)
        return next(seen) if not instances else _run(status=RunState.SUCCESS)

    client = flows.FlowsClient.__new__(flows.FlowsClient)
    monkeypatch.setattr(client, "inspect", inspect)
    out = list(client.watch("1", poll=0.5))
    assert [r.status for r in out] == [RunState.RUNNING, RunState.RUNNING, RunState.SUCCESS]
    assert asked == [False, False, False, True]
    assert len(slept) == 2
    assert slept[0] == FIRST_POLL
    assert slept[1] <= 2 * FIRST_POLL


def test_a_wait_that_shows_nothing_looks_less_often_while_the_end_is_far_off() -> None:
    pace = Pace(0.5, longest=2.0)
    now = 0.0
    pauses: list[float] = []
    # 10,000 instances at 40 a second: the end is minutes away, then near
    for left in (10_000, 9_998, 9_990, 9_970, 9_950, 9_900, 9_820, 200, 20, 1):
        pauses.append(pace.pause(left, now=now))
        now += pauses[-1]
    assert pauses[:4] == [0.05, 0.1, 0.2, 0.4]  # young: soon, whatever the pace
    assert pauses[4:7] == [2.0, 2.0, 2.0]  # far off: no closer than `longest`
    # 9,620 ended in 2 s: 200 left are due in ~0.04 s; never past the young poll's cap
    assert pauses[7] == pytest.approx(200 * 2.0 / 9_620)
    assert pauses[9] >= MIN_POLL
    assert max(pauses[7:]) <= 0.5

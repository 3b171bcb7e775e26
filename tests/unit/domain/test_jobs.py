"""The job state machine: every move the table allows, and none it does not."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import Conflict
from headwater.domain.jobs import (
    TERMINAL,
    TRANSITIONS,
    Experiment,
    JobState,
    can_move,
    check_move,
    launched_at,
)


def test_every_state_has_a_row() -> None:
    assert set(TRANSITIONS) == set(JobState)


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_an_ended_job_never_moves_again(state: JobState) -> None:
    assert state.terminal
    for target in JobState:
        assert not can_move(state, target)


def test_the_usual_life_of_a_job() -> None:
    path = [JobState.QUEUED, JobState.INITIALIZING, JobState.RUNNING, JobState.SUCCESS]
    for current, target in itertools.pairwise(path):
        check_move(current, target, where="experiment 1")


def test_a_restart_puts_a_running_job_back_in_the_queue() -> None:
    assert can_move(JobState.RUNNING, JobState.QUEUED)
    assert can_move(JobState.INITIALIZING, JobState.QUEUED)


def test_approval_comes_before_the_queue() -> None:
    assert can_move(JobState.PENDING_APPROVAL, JobState.QUEUED)
    assert not can_move(JobState.PENDING_APPROVAL, JobState.RUNNING)


@given(st.sampled_from(list(JobState)), st.sampled_from(list(JobState)))
def test_a_refused_move_says_where_and_what_is_allowed(a: JobState, b: JobState) -> None:
    if can_move(a, b):
        check_move(a, b, where="experiment 7")
        return
    with pytest.raises(Conflict) as caught:
        check_move(a, b, where="experiment 7")
    assert caught.value.where == "experiment 7"
    assert a.value in (caught.value.hint or "")


def test_only_initializing_and_running_hold_compute() -> None:
    assert {s for s in JobState if s.active} == {JobState.INITIALIZING, JobState.RUNNING}


def _attempt(**fields: Any) -> Experiment:
    base: dict[str, Any] = {
        "id": "e1",
        "project_id": "p1",
        "number": 1,
        "title": "",
        "command": "true",
        "params": {},
        "state": JobState.RUNNING,
        "reason": None,
        "exit_code": None,
        "computes": [],
        "compute": None,
        "resources": {},
        "start_commit": None,
        "output_commit": None,
        "output_dir": "output",
        "options": {},
        "restarts": 0,
        "created_by": "u1",
        "created_at": T0,
        "started_at": None,
        "ended_at": None,
        "last_output_at": None,
        "runner": {},
    }
    return Experiment(**{**base, **fields})


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_idle_clock_runs_from_the_last_output_or_the_later_launch() -> None:
    later = T0 + timedelta(hours=2)
    assert _attempt().quiet_since == T0  # nothing else known: its creation
    assert _attempt(started_at=T0 + timedelta(minutes=1)).quiet_since == T0 + timedelta(minutes=1)
    printed = T0 + timedelta(minutes=5)
    assert _attempt(last_output_at=printed).quiet_since == printed
    # a restart's new attempt: the earlier attempt's output, or the queue, count for nothing
    relaunched = _attempt(last_output_at=printed, runner={"launched_at": later.isoformat()})
    assert relaunched.quiet_since == later
    spoke = later + timedelta(minutes=1)
    relaunched = _attempt(last_output_at=spoke, runner={"launched_at": later.isoformat()})
    assert relaunched.quiet_since == spoke


@pytest.mark.parametrize("value", [None, 3, "yesterday", "2026-01-01T00:00:00"])
def test_a_launch_time_that_is_not_a_zoned_iso_time_is_ignored(value: object) -> None:
    assert launched_at(value) is None
    assert _attempt(runner={"launched_at": value}).quiet_since == T0

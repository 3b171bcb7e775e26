"""Run and task states: the tables, and how a task's and a run's state follow from below."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import Conflict
from headwater.domain.flowruns import (
    RUN_TRANSITIONS,
    TASK_TRANSITIONS,
    RunState,
    TaskState,
    check_run_move,
    check_task_move,
    run_outcome,
    task_outcome,
)
from headwater.domain.jobs import JobState


def test_every_state_has_a_row() -> None:
    assert set(TASK_TRANSITIONS) == set(TaskState)
    assert set(RUN_TRANSITIONS) == set(RunState)


@pytest.mark.parametrize("state", [s for s in TaskState if s.terminal])
def test_an_ended_task_never_moves(state: TaskState) -> None:
    for target in TaskState:
        if target is not state:
            with pytest.raises(Conflict, match="it has ended"):
                check_task_move(state, target, where="task 'A'")


def test_approval_sends_a_task_back_to_wait_and_rejection_aborts_it() -> None:
    check_task_move(TaskState.PENDING_APPROVAL, TaskState.WAITING, where="t")
    check_task_move(TaskState.PENDING_APPROVAL, TaskState.ABORTED, where="t")
    with pytest.raises(Conflict):  # it must be approved first: no running straight away
        check_task_move(TaskState.PENDING_APPROVAL, TaskState.RUNNING, where="t")


def test_an_ended_run_stays_ended() -> None:
    with pytest.raises(Conflict, match="restart it"):
        check_run_move(RunState.FAILED, RunState.RUNNING, where="run 3")


def test_task_outcome_waits_for_every_instance() -> None:
    assert task_outcome([JobState.SUCCESS, JobState.RUNNING]) is None
    assert task_outcome([JobState.SUCCESS, JobState.QUEUED]) is None
    assert task_outcome([JobState.SUCCESS, JobState.SUCCESS]) is TaskState.SUCCESS


def test_one_failed_instance_fails_the_task_before_an_aborted_one_aborts_it() -> None:
    assert task_outcome([JobState.SUCCESS, JobState.FAILED]) is TaskState.FAILED
    assert task_outcome([JobState.ABORTED, JobState.FAILED]) is TaskState.FAILED
    assert task_outcome([JobState.SUCCESS, JobState.ABORTED]) is TaskState.ABORTED


def test_run_outcome_follows_its_tasks() -> None:
    waiting = [TaskState.SUCCESS, TaskState.PENDING_APPROVAL, TaskState.WAITING]
    assert run_outcome(waiting) is RunState.PENDING_APPROVAL
    assert run_outcome([TaskState.SUCCESS, TaskState.RUNNING]) is RunState.RUNNING
    assert run_outcome([TaskState.SUCCESS, TaskState.SKIPPED]) is RunState.SUCCESS
    assert run_outcome([TaskState.FAILED, TaskState.SKIPPED]) is RunState.FAILED
    assert run_outcome([TaskState.FAILED, TaskState.ABORTED]) is RunState.ABORTED


@given(st.lists(st.sampled_from(list(TaskState)), min_size=1))
def test_a_run_has_ended_exactly_when_every_task_has(states: list[TaskState]) -> None:
    assert run_outcome(states).terminal == all(s.terminal for s in states)


@given(st.lists(st.sampled_from(list(JobState)), min_size=1))
def test_a_task_ends_exactly_when_every_instance_has(states: list[JobState]) -> None:
    ended = task_outcome(states)
    assert (ended is not None) == all(s.terminal for s in states)
    if ended is TaskState.SUCCESS:
        assert all(s is JobState.SUCCESS for s in states)

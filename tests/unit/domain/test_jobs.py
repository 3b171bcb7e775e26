"""The job state machine: every move the table allows, and none it does not."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import Conflict
from headwater.domain.jobs import TERMINAL, TRANSITIONS, JobState, can_move, check_move


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

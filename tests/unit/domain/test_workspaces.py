"""The workspace rules: states, names, and when the culler stops one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.domain.errors import Conflict, InvalidInput
from headwater.domain.workspaces import (
    CullPolicy,
    WorkspaceState,
    autosync_due,
    can_move,
    check_name,
    check_unused,
    cull_reason,
)

S = WorkspaceState
T0 = datetime(2026, 12, 7, tzinfo=UTC)
POLICY = CullPolicy(idle_seconds=60, max_age_seconds=3600)


def reason(
    now_s: int, *, last_s: int = 0, busy: bool = False, kernel_s: int | None = None
) -> str | None:
    return cull_reason(
        POLICY,
        now=T0 + timedelta(seconds=now_s),
        started=T0,
        last_activity=T0 + timedelta(seconds=last_s),
        kernel_busy=busy,
        kernel_activity=None if kernel_s is None else T0 + timedelta(seconds=kernel_s),
    )


def test_an_idle_workspace_is_culled_after_its_idle_time_and_not_before() -> None:
    assert reason(59) is None
    assert reason(60) == "idle for 60 s (no traffic, no busy kernel)"
    assert reason(100, last_s=50) is None  # traffic restarts the clock


def test_a_busy_kernel_is_not_idle_however_long_nobody_looks() -> None:
    assert reason(3000, busy=True) is None
    # a cell that just ended counts as activity
    assert reason(3000, kernel_s=2990) is None
    assert reason(3000, kernel_s=2900) is not None


def test_the_maximum_age_culls_even_a_busy_workspace() -> None:
    assert reason(3600, busy=True, last_s=3599) == "reached its maximum age (3600 s)"


def test_an_ended_workspace_never_comes_back() -> None:
    for ended in (S.STOPPED, S.FAILED):
        assert not any(can_move(ended, s) for s in S)
    assert can_move(S.STARTING, S.RUNNING)
    assert can_move(S.STOPPING, S.RUNNING)  # a stop refused by a conflicting save
    assert not can_move(S.RUNNING, S.STARTING)
    assert not can_move(S.STARTING, S.STOPPED)  # always through stopping


def test_names_are_short_words_unique_among_the_running() -> None:
    assert check_name("lab-2_x") == "lab-2_x"
    for bad in ("", "-x", "a b", "x" * 64, "../x"):
        with pytest.raises(InvalidInput):
            check_name(bad)
    check_unused("lab", ["other"])
    with pytest.raises(Conflict):
        check_unused("lab", ["lab"])


def test_a_policy_needs_positive_times() -> None:
    with pytest.raises(InvalidInput):
        CullPolicy(idle_seconds=0)


def test_autosync_saves_every_n_minutes_only_when_the_project_has_it_on() -> None:
    assert not autosync_due(now=T0 + timedelta(hours=5), since=T0, minutes=None)
    assert not autosync_due(now=T0 + timedelta(minutes=9), since=T0, minutes=10)
    assert autosync_due(now=T0 + timedelta(minutes=10), since=T0, minutes=10)

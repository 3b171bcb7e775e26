"""Canary rollouts: start, steps on an interval, promotion at 100, rollback on a broken rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.rollout import (
    Action,
    RolloutPolicy,
    RolloutState,
    VersionStats,
    broken_rule,
    step,
)

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
POLICY = RolloutPolicy(
    first_percent=10,
    step_percent=30,
    interval=60,
    min_requests=100,
    max_error_rate=0.05,
    max_p99_ratio=2.0,
    p99_slack_ms=5.0,
)
HEALTHY = VersionStats(requests=240, errors=1, p99_ms=20.0)
STABLE = VersionStats(requests=2000, errors=0, p99_ms=20.0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_canary_starts_at_the_first_percent() -> None:
    decision = step(RolloutState(0, None), VersionStats(0, 0, None), STABLE, T0, POLICY)
    assert decision.action is Action.ADVANCE
    assert decision.canary_percent == 10


def test_first_percent_100_promotes_at_once() -> None:
    policy = RolloutPolicy(first_percent=100)
    decision = step(RolloutState(0, None), VersionStats(0, 0, None), None, T0, policy)
    assert decision.action is Action.PROMOTE
    assert decision.canary_percent == 100


def test_a_successful_rollout_from_start_to_promotion() -> None:
    state, now, percents = RolloutState(0, None), T0, []
    for _ in range(10):
        decision = step(state, HEALTHY, STABLE, now, POLICY)
        if decision.action is Action.PROMOTE:
            break
        assert decision.action is Action.ADVANCE
        state = RolloutState(decision.canary_percent, now)
        percents.append(decision.canary_percent)
        now += timedelta(seconds=60)
    assert percents == [10, 40, 70]
    assert decision.action is Action.PROMOTE
    assert decision.canary_percent == 100
    assert "1 errors in 240 requests" in decision.reason


def test_it_holds_until_the_interval_has_passed() -> None:
    decision = step(RolloutState(40, at(-59)), HEALTHY, STABLE, T0, POLICY)
    assert decision.action is Action.HOLD
    assert decision.canary_percent == 40
    assert "59 s of 60 s" in decision.reason


def test_too_few_requests_give_no_verdict_either_way() -> None:
    failing = VersionStats(requests=99, errors=99, p99_ms=5000.0)
    decision = step(RolloutState(10, at(-600)), failing, STABLE, T0, POLICY)
    assert decision.action is Action.HOLD
    assert decision.reason == "waiting for 100 requests at 10% (has 99)"


def test_a_high_error_rate_rolls_back_saying_the_numbers() -> None:
    canary = VersionStats(requests=240, errors=29, p99_ms=20.0)
    decision = step(RolloutState(40, at(-1)), canary, STABLE, T0, POLICY)
    assert decision.action is Action.ROLLBACK
    assert decision.canary_percent == 0
    assert decision.reason == "error rate 12% > 5% over 240 requests"


def test_a_slow_canary_rolls_back_against_the_stable_p99() -> None:
    canary = VersionStats(requests=240, errors=0, p99_ms=120.0)
    decision = step(RolloutState(10, at(-1)), canary, STABLE, T0, POLICY)
    assert decision.action is Action.ROLLBACK
    assert decision.reason == ("p99 120.0 ms > 45.0 ms (2 x the stable version's 20.0 ms + 5 ms)")


def test_sub_millisecond_noise_is_not_a_slow_canary() -> None:
    fast = VersionStats(requests=500, errors=0, p99_ms=0.3)
    noisy = VersionStats(requests=240, errors=0, p99_ms=1.2)
    assert broken_rule(noisy, fast, POLICY) is None


def test_an_absolute_p99_limit() -> None:
    policy = RolloutPolicy(max_p99_ms=100, max_p99_ratio=None)
    canary = VersionStats(requests=240, errors=0, p99_ms=150.0)
    assert broken_rule(canary, None, policy) == "p99 150.0 ms > 100 ms"
    assert broken_rule(VersionStats(240, 0, 90.0), None, policy) is None


def test_without_stable_traffic_the_ratio_rule_waits() -> None:
    canary = VersionStats(requests=240, errors=0, p99_ms=900.0)
    assert broken_rule(canary, VersionStats(0, 0, None), POLICY) is None
    assert broken_rule(canary, None, POLICY) is None


@pytest.mark.parametrize(
    "bad",
    [{"first_percent": 0}, {"step_percent": 101}, {"max_error_rate": 2.0}, {"interval": -1}],
)
def test_a_policy_that_cannot_work_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"rollout|max_error_rate"):
        RolloutPolicy(**bad)  # type: ignore[arg-type]


stats = st.builds(
    VersionStats,
    requests=st.integers(0, 10_000),
    errors=st.integers(0, 10_000),
    p99_ms=st.one_of(st.none(), st.floats(0.05, 60_000, allow_nan=False)),
).filter(lambda s: s.errors <= s.requests)
policies = st.builds(
    RolloutPolicy,
    first_percent=st.integers(1, 100),
    step_percent=st.integers(1, 100),
    interval=st.floats(0, 600),
    min_requests=st.integers(0, 500),
    max_error_rate=st.floats(0, 1),
    max_p99_ratio=st.one_of(st.none(), st.floats(1, 10)),
    max_p99_ms=st.one_of(st.none(), st.floats(1, 10_000)),
)


@given(
    percent=st.integers(0, 99),
    waited=st.one_of(st.none(), st.integers(0, 1000)),
    canary=stats,
    stable=st.one_of(st.none(), stats),
    policy=policies,
)
def test_percent_only_grows_until_promotion_and_a_broken_rule_always_rolls_back(
    percent: int,
    waited: int | None,
    canary: VersionStats,
    stable: VersionStats | None,
    policy: RolloutPolicy,
) -> None:
    last = None if waited is None else at(-waited)
    decision = step(RolloutState(percent, last), canary, stable, T0, policy)
    broken = broken_rule(canary, stable, policy)
    if decision.action is Action.ROLLBACK:
        assert decision.canary_percent == 0
        assert decision.reason == broken
        return
    assert decision.canary_percent >= percent
    assert (decision.action is Action.PROMOTE) == (decision.canary_percent == 100)
    if percent > 0 and canary.requests >= policy.min_requests:
        assert broken is None  # enough requests and a broken rule: never anything but rollback

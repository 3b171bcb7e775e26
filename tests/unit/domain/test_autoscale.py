"""The autoscaler: within bounds, up after sustained load, down after a quiet period, no
flapping, and a dead replica replaced at once."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.autoscale import (
    AutoscalePolicy,
    Decision,
    LoadSample,
    decide,
    needed,
    with_quiet_buckets,
)

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
POLICY = AutoscalePolicy(target=4, up_after=30, down_after=300, cooldown=60)
BUCKET = 5  # seconds between stats buckets


def steady(load: float, *, until: datetime, seconds: float) -> list[LoadSample]:
    """One sample per stats bucket over the last ``seconds`` (and one before, for cover)."""
    count = int(seconds // BUCKET) + 2
    return [LoadSample(until - timedelta(seconds=BUCKET * i), load) for i in range(count)]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(
    current: int,
    low: int,
    high: int,
    samples: list[LoadSample],
    *,
    last_change: datetime | None = None,
) -> Decision:
    return decide(current, low, high, samples, T0, last_change, POLICY)


def test_sustained_load_adds_what_it_needs() -> None:
    # 20 in flight on 1 replica at target 4: 5 replicas, capped at the max of 3
    assert run(1, 1, 8, steady(20, until=T0, seconds=30)).replicas == 5
    decision = run(1, 1, 3, steady(20, until=T0, seconds=30))
    assert decision.replicas == 3
    assert "above 4" in decision.reason
    assert "1 -> 3" in decision.reason


def test_a_spike_shorter_than_up_after_adds_nothing() -> None:
    samples = steady(1, until=at(-15), seconds=60) + steady(20, until=T0, seconds=10)
    assert run(1, 1, 8, samples).replicas == 1


def test_too_little_history_decides_nothing() -> None:
    assert run(1, 1, 8, steady(20, until=T0, seconds=20)[:-2]).replicas == 1
    assert run(1, 1, 8, []).replicas == 1


def test_a_quiet_period_removes_replicas_down_to_what_the_peak_needs() -> None:
    decision = run(5, 1, 8, steady(6, until=T0, seconds=300))
    assert decision.replicas == 2
    assert "300 s" in decision.reason


def test_a_short_quiet_spell_removes_nothing() -> None:
    samples = steady(20, until=at(-200), seconds=200) + steady(0, until=T0, seconds=150)
    assert run(5, 1, 8, samples).replicas == 5


def test_traffic_that_stops_brings_the_replicas_down_once_its_silence_counts() -> None:
    """The gateway writes no bucket for a quiet period: the last busy one (12 in flight, five
    minutes ago) must not stay the latest word."""
    busy = steady(12, until=at(-310), seconds=60)
    assert run(3, 1, 3, busy).replicas == 3  # what the autoscaler did with the gaps
    filled = with_quiet_buckets(busy, since=at(-400), until=T0)
    decision = run(3, 1, 3, filled)
    assert decision.replicas == 1
    assert "under 0 for 300 s" in decision.reason


def test_quiet_buckets_fill_only_the_gaps_of_ended_buckets_since_the_start() -> None:
    written = [LoadSample(at(-20), 7.0), LoadSample(at(-10), 3.0)]
    filled = with_quiet_buckets(written, since=at(-27), until=at(-3))
    assert [(s.at, s.in_flight) for s in filled] == [
        (at(-30), 0.0),  # the bucket the start fell in
        (at(-25), 0.0),
        (at(-20), 7.0),
        (at(-15), 0.0),
        (at(-10), 3.0),
    ]  # the bucket from -5 has not ended by -3: it may not be written yet
    assert with_quiet_buckets(written, since=at(-20), until=at(-20)) == written


def test_no_change_during_the_cooldown() -> None:
    decision = run(1, 1, 8, steady(20, until=T0, seconds=30), last_change=at(-59))
    assert decision.replicas == 1
    assert "cooling down" in decision.reason
    assert run(1, 1, 8, steady(20, until=T0, seconds=30), last_change=at(-60)).replicas == 5


def test_a_dead_replica_is_replaced_at_once_even_in_the_cooldown() -> None:
    decision = run(1, 2, 4, [], last_change=at(-1))
    assert decision.replicas == 2
    assert "below the minimum" in decision.reason


def test_a_lowered_maximum_applies_at_once() -> None:
    assert run(6, 1, 3, steady(100, until=T0, seconds=300), last_change=at(-1)).replicas == 3


def test_bounds_upside_down_are_a_mistake() -> None:
    with pytest.raises(ValueError, match="upside down"):
        run(1, 3, 2, [])


@pytest.mark.parametrize("bad", [{"target": 0}, {"cooldown": -1}])
def test_a_policy_that_cannot_work_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="autoscale"):
        AutoscalePolicy(**bad)


loads = st.lists(st.floats(0, 200, allow_nan=False), min_size=1, max_size=80)


@given(
    current=st.integers(0, 20),
    low=st.integers(1, 8),
    extra=st.integers(0, 8),
    loads=loads,
    since_change=st.one_of(st.none(), st.integers(0, 600)),
)
def test_never_outside_the_bounds(
    current: int, low: int, extra: int, loads: list[float], since_change: int | None
) -> None:
    high = low + extra
    samples = [LoadSample(at(-BUCKET * i), load) for i, load in enumerate(loads)]
    last = None if since_change is None else at(-since_change)
    decision = decide(current, low, high, samples, T0, last, POLICY)
    assert low <= decision.replicas <= high
    cooling = since_change is not None and since_change < POLICY.cooldown
    if low <= current <= high and cooling:
        assert decision.replicas == current


@given(
    load=st.floats(0, 100, allow_nan=False),
    start=st.integers(1, 10),
    low=st.integers(1, 3),
    high=st.integers(3, 12),
)
def test_a_constant_load_settles_and_stays(load: float, start: int, low: int, high: int) -> None:
    """Tick every bucket for an hour under the same load: at most one change each way,
    then the count never moves again (no flapping)."""
    current, last = start, None
    history: list[LoadSample] = []
    counts: list[int] = []
    for tick in range(720):
        now = at(tick * BUCKET)
        history = [*history[-70:], LoadSample(now, load)]  # the last ~6 minutes of buckets
        decision = decide(current, low, high, history, now, last, POLICY)
        if decision.replicas != current:
            current, last = decision.replicas, now
        counts.append(current)
    settled = counts[-400:]
    assert len(set(settled)) == 1
    changes = sum(a != b for a, b in itertools.pairwise(counts))
    assert changes <= 2
    assert current == max(low, min(high, needed(load, POLICY.target)))

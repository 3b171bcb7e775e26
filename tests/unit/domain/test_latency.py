"""The latency histogram: buckets, quantiles within a bucket's error, merging, storage."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.latency import (
    BUCKETS,
    EDGES,
    HIGHEST_MS,
    LOWEST_MS,
    RATIO,
    LatencyHistogram,
    bucket_of,
)

latencies = st.floats(min_value=0.0, max_value=120_000.0, allow_nan=False)
in_range = st.floats(min_value=LOWEST_MS, max_value=HIGHEST_MS * 0.999, allow_nan=False)
quantiles = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def histogram_of(values: list[float]) -> LatencyHistogram:
    histogram = LatencyHistogram()
    for ms in values:
        histogram.record(ms)
    return histogram


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def test_the_buckets_span_a_tenth_of_a_ms_to_a_minute() -> None:
    assert EDGES[0] == pytest.approx(LOWEST_MS)
    assert EDGES[-1] >= HIGHEST_MS
    assert EDGES[-2] < HIGHEST_MS
    assert bucket_of(0.0) == 0
    assert bucket_of(-1.0) == 0
    assert bucket_of(10 * HIGHEST_MS) == BUCKETS - 1


def test_an_empty_histogram_has_no_quantile() -> None:
    assert LatencyHistogram().quantile(0.5) is None
    assert LatencyHistogram().count == 0


def test_a_quantile_outside_0_and_1_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        histogram_of([1.0]).quantile(99)


def test_p50_and_p99_of_a_known_spread() -> None:
    histogram = histogram_of([1.0] * 98 + [100.0] * 2)
    p50 = histogram.quantile(0.5)
    p99 = histogram.quantile(0.99)
    assert p50 == pytest.approx(1.0, rel=RATIO - 1)
    assert p99 == pytest.approx(100.0, rel=RATIO - 1)


@given(st.lists(in_range, min_size=1, max_size=200), quantiles)
def test_a_quantile_is_within_a_buckets_error(values: list[float], q: float) -> None:
    estimate = histogram_of(values).quantile(q)
    exact = nearest_rank(values, q)
    assert estimate is not None
    # the bucket's geometric middle: at most half a bucket away, in log terms
    assert abs(math.log(estimate / exact)) <= math.log(RATIO) / 2 * 1.0001


@given(st.lists(latencies, min_size=1, max_size=200), quantiles, quantiles)
def test_quantiles_are_monotone_in_q(values: list[float], a: float, b: float) -> None:
    histogram = histogram_of(values)
    low, high = sorted((a, b))
    assert histogram.quantile(low) <= histogram.quantile(high)  # type: ignore[operator]


@given(st.lists(latencies, max_size=50), st.lists(latencies, max_size=50))
def test_merging_equals_recording_everything_into_one(a: list[float], b: list[float]) -> None:
    merged = histogram_of(a).merge(histogram_of(b))
    assert merged == histogram_of(a + b)
    assert merged.count == len(a) + len(b)


@given(st.lists(st.lists(latencies, max_size=20), min_size=3, max_size=3))
def test_merge_is_associative_and_commutative(parts: list[list[float]]) -> None:
    x, y, z = (histogram_of(part) for part in parts)
    assert x.merge(y).merge(z) == x.merge(y.merge(z))
    assert x.merge(y) == y.merge(x)
    assert LatencyHistogram.merged([x, y, z]) == x.merge(y).merge(z)


def test_merge_leaves_both_sides_as_they_were() -> None:
    x, y = histogram_of([1.0]), histogram_of([2.0])
    x.merge(y)
    assert x.count == 1
    assert y.count == 1


@given(st.lists(latencies, max_size=100))
def test_the_stored_list_gives_back_the_same_histogram(values: list[float]) -> None:
    histogram = histogram_of(values)
    stored = histogram.to_list()
    assert len(stored) <= BUCKETS
    assert not stored or stored[-1] > 0
    assert LatencyHistogram.from_list(stored) == histogram


@pytest.mark.parametrize("bad", [[1] * (BUCKETS + 1), [-1], [1.5], [True]])
def test_a_stored_list_no_histogram_wrote_is_refused(bad: list[int]) -> None:
    with pytest.raises(ValueError, match="latency histogram"):
        LatencyHistogram.from_list(bad)

"""The traffic split: exact shares by smooth weighted round-robin, the least-loaded replica."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import InvalidInput
from headwater.domain.traffic import (
    ReplicaLoad,
    Route,
    VersionPicker,
    check_split,
    choose,
    least_loaded,
)


@st.composite
def splits(draw: st.DrawFn) -> dict[str, int]:
    """Up to five versions with whole percents that add up to 100 (some may be 0)."""
    cuts = sorted(draw(st.lists(st.integers(0, 100), max_size=4)))
    bounds = [0, *cuts, 100]
    return {f"v{i}": b - a for i, (a, b) in enumerate(itertools.pairwise(bounds))}


def test_a_split_of_whole_percents_adding_up_to_100() -> None:
    assert check_split({"v1": 90, "v2": 10}) == {"v1": 90, "v2": 10}
    assert check_split({"v1": 100, "v2": 0}) == {"v1": 100, "v2": 0}


@pytest.mark.parametrize(
    ("split", "where", "says"),
    [
        ({}, "traffic", "at least one version"),
        ({"v1": 90, "v2": 20}, "traffic", "adds up to 110%"),
        ({"v1": 50}, "traffic", "adds up to 50%"),
        ({"v1": 110, "v2": -10}, "traffic.v1", "not a whole percent"),
        ({"v1": 99.5, "v2": 0.5}, "traffic.v1", "not a whole percent"),
        ({"v1": True, "v2": 99}, "traffic.v1", "not a whole percent"),
    ],
)
def test_a_bad_split_is_refused(split: dict[str, int], where: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_split(split)
    assert caught.value.where == where
    assert says in caught.value.detail


def test_a_10_percent_canary_gets_10_of_every_100_spread_out() -> None:
    picker = VersionPicker({"stable": 90, "canary": 10})
    picks = [picker.pick() for _ in range(100)]
    assert picks.count("canary") == 10
    # smooth: never two canary requests in a row
    assert all(not (a == b == "canary") for a, b in itertools.pairwise(picks))


@given(splits(), st.integers(1, 5))
def test_each_version_gets_its_share_over_every_hundred(split: dict[str, int], n: int) -> None:
    picker = VersionPicker(split)
    counts = Counter(picker.pick() for _ in range(n * 100))
    for version, percent in split.items():
        assert abs(counts[version] - n * percent) <= 1


@given(st.integers(0, 100), st.integers(1, 250))
def test_a_canary_is_within_one_of_its_share_at_any_moment(percent: int, k: int) -> None:
    # two versions (a rollout): never more than one request ahead or behind its share;
    # with more versions the lag can pass one (1.12 seen with eight), never over a hundred
    picker = VersionPicker({"stable": 100 - percent, "canary": percent})
    canary = sum(picker.pick() == "canary" for _ in range(k))
    assert abs(canary - k * percent / 100) < 1


def test_a_version_at_zero_gets_nothing() -> None:
    picker = VersionPicker({"old": 0, "new": 100})
    assert {picker.pick() for _ in range(50)} == {"new"}


def test_picking_only_among_versions_with_a_ready_replica() -> None:
    picker = VersionPicker({"stable": 90, "canary": 10})
    assert {picker.pick(frozenset({"stable"})) for _ in range(100)} == {"stable"}
    assert picker.pick(frozenset()) is None
    assert picker.pick(frozenset({"unknown"})) is None


def test_the_replica_with_fewest_in_flight_takes_it() -> None:
    replicas = [ReplicaLoad("r1", 3), ReplicaLoad("r2", 1), ReplicaLoad("r3", 2)]
    assert least_loaded(replicas) == "r2"
    assert least_loaded([]) is None


def test_idle_replicas_take_requests_in_turn() -> None:
    replicas = [ReplicaLoad("r1", 0), ReplicaLoad("r2", 0), ReplicaLoad("r3", 5)]
    assert [least_loaded(replicas, turn=t) for t in range(4)] == ["r1", "r2", "r1", "r2"]


@given(st.lists(st.integers(0, 20), min_size=1, max_size=8), st.integers(0, 1000))
def test_never_a_busier_replica_than_needed(loads: list[int], turn: int) -> None:
    replicas = [ReplicaLoad(f"r{i}", n) for i, n in enumerate(loads)]
    chosen = least_loaded(replicas, turn=turn)
    assert next(r.in_flight for r in replicas if r.replica_id == chosen) == min(loads)


def test_choose_a_version_then_its_least_loaded_replica() -> None:
    picker = VersionPicker({"v1": 100})
    ready = {"v1": [ReplicaLoad("a", 2), ReplicaLoad("b", 0)]}
    assert choose(picker, ready) == Route(version_id="v1", replica_id="b")


def test_a_canary_still_starting_leaves_its_share_to_the_stable_version() -> None:
    picker = VersionPicker({"stable": 90, "canary": 10})
    ready = {"stable": [ReplicaLoad("s1", 0)], "canary": []}
    routes = [choose(picker, ready) for _ in range(100)]
    assert {route.version_id for route in routes if route} == {"stable"}
    assert None not in routes


def test_no_ready_replica_anywhere_is_none() -> None:
    picker = VersionPicker({"v1": 100})
    assert choose(picker, {"v1": []}) is None
    assert choose(picker, {}) is None

"""Endpoint rules: the three state tables, titles and slugs, keys, replica bounds, config_vars."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.endpoints import (
    ENDPOINT_MOVES,
    KEY_PREFIX,
    MAX_REPLICAS,
    REPLICA_MOVES,
    TITLE_MAX,
    VERSION_MOVES,
    EndpointStatus,
    ReplicaState,
    State,
    VersionState,
    can_move,
    check_move,
    check_replicas,
    check_title,
    key_hash,
    key_matches,
    new_key,
    parse_config_vars,
    slug_for,
)
from headwater.domain.errors import Conflict, InvalidInput


@pytest.mark.parametrize(
    ("table", "enum"),
    [
        (ENDPOINT_MOVES, EndpointStatus),
        (VERSION_MOVES, VersionState),
        (REPLICA_MOVES, ReplicaState),
    ],
)
def test_every_state_has_a_row(table: Mapping[Any, Any], enum: type[StrEnum]) -> None:
    assert set(table) == set(enum)


def test_a_version_rolled_back_or_failed_never_moves_again() -> None:
    for state, target in itertools.product(
        (VersionState.ROLLED_BACK, VersionState.FAILED), VersionState
    ):
        assert not can_move(state, target)


def test_a_gone_replica_never_comes_back() -> None:
    for target in ReplicaState:
        assert not can_move(ReplicaState.GONE, target)


def test_the_usual_life_of_each() -> None:
    lives: list[Sequence[State]] = [
        [
            EndpointStatus.DEFINED,
            EndpointStatus.DEPLOYING,
            EndpointStatus.RUNNING,
            EndpointStatus.DEGRADED,
            EndpointStatus.RUNNING,
            EndpointStatus.STOPPED,
            EndpointStatus.DEPLOYING,
        ],
        [VersionState.PENDING, VersionState.CANARY, VersionState.LIVE, VersionState.RETIRED],
        [ReplicaState.STARTING, ReplicaState.READY, ReplicaState.STOPPING, ReplicaState.GONE],
    ]
    for life in lives:
        for current, target in itertools.pairwise(life):
            check_move(current, target, where="endpoint churn")


def test_a_rollback_restores_the_retired_version_and_ends_the_canary() -> None:
    check_move(VersionState.RETIRED, VersionState.LIVE, where="version 1")
    check_move(VersionState.CANARY, VersionState.ROLLED_BACK, where="version 2")


def test_a_refused_move_is_a_conflict_naming_the_allowed_ones() -> None:
    with pytest.raises(Conflict) as caught:
        check_move(ReplicaState.STOPPING, ReplicaState.READY, where="replica 7")
    assert caught.value.where == "replica 7"
    assert "stopping to ready" in caught.value.detail
    assert caught.value.hint == "From stopping a replica may move to: gone."


def test_states_of_different_things_are_not_compared() -> None:
    # both are the string "failed": a mix-up must not pass as an allowed move
    with pytest.raises(TypeError):
        can_move(EndpointStatus.DEFINED, VersionState.FAILED)


@pytest.mark.parametrize("title", ["churn", "churn-model-2", "A1", "x" * TITLE_MAX])
def test_titles_the_seed_allows(title: str) -> None:
    assert check_title(title) == title


@pytest.mark.parametrize(
    ("title", "says"),
    [
        ("", "needs a title"),
        ("churn model", "' '"),
        ("churn_model", "'_'"),
        ("modèle", "'è'"),
        ("a/b", "'/'"),
        ("x" * (TITLE_MAX + 1), f"over {TITLE_MAX}"),
    ],
)
def test_titles_refused_with_where_and_hint(title: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_title(title, where="tasks[2].endpoint_title")
    assert says in caught.value.detail
    assert caught.value.where == "tasks[2].endpoint_title"
    assert caught.value.hint


def test_the_slug_is_the_title_lowercased() -> None:
    assert slug_for("Churn-Model", lambda slug: False) == "churn-model"


def test_a_taken_slug_gets_the_first_free_suffix() -> None:
    taken = {"churn", "churn-2"}
    assert slug_for("Churn", taken.__contains__) == "churn-3"


def test_a_suffixed_slug_stays_within_the_title_limit() -> None:
    title = "a" * TITLE_MAX
    slug = slug_for(title, lambda slug: slug == title)
    assert slug == "a" * (TITLE_MAX - 2) + "-2"
    check_title(slug)


def test_no_free_slug_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        slug_for("churn", lambda slug: True)


@given(
    title=st.text(alphabet="abcXYZ019-", min_size=1, max_size=TITLE_MAX),
    taken=st.sets(st.text(alphabet="abcxyz019-", min_size=1, max_size=8), max_size=20),
)
def test_a_slug_is_never_taken_and_is_a_valid_title(title: str, taken: set[str]) -> None:
    slug = slug_for(title, taken.__contains__)
    assert slug not in taken
    assert slug == slug.lower()
    assert slug.startswith(title.lower()[: TITLE_MAX - 5])
    check_title(slug)


def test_a_key_has_its_prefix_and_32_url_safe_characters() -> None:
    key = new_key()
    assert key.startswith(KEY_PREFIX)
    body = key.removeprefix(KEY_PREFIX)
    assert len(body) == 32
    assert all(c.isalnum() or c in "-_" for c in body)
    assert new_key() != key


def test_a_key_matches_its_hash_only() -> None:
    key = new_key()
    stored = key_hash(key)
    assert stored != key
    assert len(stored) == 64
    assert key_matches(key, stored)
    assert not key_matches(new_key(), stored)
    assert not key_matches(key, None)
    assert not key_matches(key, "")


@pytest.mark.parametrize(("low", "high"), [(1, 1), (1, 3), (2, MAX_REPLICAS)])
def test_replica_bounds_allowed(low: int, high: int) -> None:
    assert check_replicas(low, high) == (low, high)


@pytest.mark.parametrize(
    ("low", "high", "field", "says"),
    [
        (0, 1, "min_replica", "at least one"),
        (-1, 1, "min_replica", "at least one"),
        (3, 2, "max_replica", "below min_replica 3"),
        (1, MAX_REPLICAS + 1, "max_replica", f"limit of {MAX_REPLICAS}"),
    ],
)
def test_replica_bounds_refused(low: int, high: int, field: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_replicas(low, high, where="tasks[1]")
    assert caught.value.where == f"tasks[1].{field}"
    assert says in caught.value.detail


def test_a_lower_limit_is_the_servers_to_choose() -> None:
    with pytest.raises(InvalidInput):
        check_replicas(1, 5, limit=4)


def test_config_vars_become_the_functions_environment() -> None:
    assert parse_config_vars(["MODEL=rf", "THRESHOLD=0.5", "EMPTY=", "URL=a=b"]) == {
        "MODEL": "rf",
        "THRESHOLD": "0.5",
        "EMPTY": "",
        "URL": "a=b",
    }


@pytest.mark.parametrize(
    ("pairs", "where", "says"),
    [
        (["MODEL"], "config_vars[0]", "not KEY=VALUE"),
        (["A=1", "=2"], "config_vars[1]", "needs a name"),
        (["1A=2"], "config_vars[0].1A", "not a valid name"),
        (["A B=2"], "config_vars[0].A B", "not a valid name"),
        (["A=1", "A=2"], "config_vars[1]", "given twice"),
        (["HW_TASK_TOKEN=x"], "config_vars[0]", "prefix Headwater sets"),
        (["cnvrg_x=1"], "config_vars[0]", "prefix Headwater sets"),
    ],
)
def test_config_vars_refused_naming_the_entry(pairs: list[str], where: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_config_vars(pairs)
    assert caught.value.where == where
    assert says in caught.value.detail

"""Project settings (seed 000 Environment, seed 001 Project Settings): defaults and validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from headwater.domain.errors import InvalidInput
from headwater.domain.project_settings import ProjectSettings


def test_defaults() -> None:
    s = ProjectSettings()
    assert s.idle_minutes == 60
    assert s.restart_when_idle is False
    assert s.output_dir == "output"
    assert s.env == {}
    assert s.compute == []
    assert (s.email_on_success, s.email_on_error) == (False, False)
    assert s.use_only_owned_compute is False
    assert s.slack.channel == s.slack.webhook_url == ""


@pytest.mark.parametrize(
    "changes",
    [
        {"idle_minutes": 0},
        {"idle_minutes": -5},
        {"idle_minutes": 10081},
        {"idle_minutes": "soon"},
        {"sync_minutes": 0},
        {"sync_minutes": 1441},
        {"output_dir": ""},
        {"compute": [" cpu-small"]},
        {"compute": [""]},
        {"compute": "cpu-small"},
        {"tensorboard": "maybe"},
        {"no_such_setting": 1},
        {"slack": {"channel": "#ml", "token": "x"}},
        {"env": ["A=1"]},
        {"env": {"A": 1}},
    ],
    ids=repr,
)
def test_invalid_values_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ProjectSettings().merged(changes)


@pytest.mark.parametrize(
    "env", [{" A": "1"}, {"A ": "1"}, {"A": " 1"}, {"A": "1 "}, {"1A": "x"}, {"": "x"}]
)
def test_env_entries_are_checked(env: dict[str, str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        ProjectSettings().merged({"env": env})
    assert caught.value.where is not None
    assert caught.value.where.startswith("env")


def test_merged_leaves_the_original_alone() -> None:
    original = ProjectSettings(idle_minutes=30, env={"A": "1"})
    changed = original.merged({"idle_minutes": 45, "env": {"B": "2"}})
    assert (changed.idle_minutes, changed.env) == (45, {"B": "2"})
    assert (original.idle_minutes, original.env) == (30, {"A": "1"})
    with pytest.raises(ValidationError):
        original.merged({"idle_minutes": 45, "sync_minutes": 0})
    assert original.idle_minutes == 30


def test_bounds_are_inclusive() -> None:
    assert ProjectSettings(idle_minutes=1, sync_minutes=1).idle_minutes == 1
    assert ProjectSettings(idle_minutes=10080, sync_minutes=1440).sync_minutes == 1440


def test_assignment_is_validated() -> None:
    s = ProjectSettings()
    with pytest.raises(ValidationError):
        s.idle_minutes = 0
    assert s.idle_minutes == 60


def test_round_trips_through_json() -> None:
    s = ProjectSettings(
        image="python:3.11",
        compute=["cpu-small", "gpu"],
        env={"A": "x y"},
        slack={"channel": "#ml", "webhook_url": "https://hooks.example/x"},
    )
    assert ProjectSettings.model_validate(s.model_dump(mode="json")) == s


def test_request_log_sampling_defaults_to_the_servers_and_reads_back_normalised() -> None:
    assert ProjectSettings().request_log == ""
    assert ProjectSettings().merged({"request_log": " 1 / 10 "}).request_log == "1/10"
    assert ProjectSettings().merged({"request_log": "NONE"}).request_log == "none"


@pytest.mark.parametrize("rule", ["some", "1/0", "10%"])
def test_request_log_sampling_refused_with_the_forms(rule: str) -> None:
    with pytest.raises(ValidationError, match="all, none or 1/N"):
        ProjectSettings().merged({"request_log": rule})

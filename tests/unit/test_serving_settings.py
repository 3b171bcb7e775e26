"""The serving settings group: defaults, HEADWATER_SERVING_* variables, the domain policies."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from headwater.domain.autoscale import AutoscalePolicy
from headwater.domain.rollout import RolloutPolicy
from headwater.domain.sampling import ALL, SampleRule
from headwater.settings import ServerSettings, ServingSettings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("HEADWATER_SERVING"):
            monkeypatch.delenv(name)


def test_defaults_give_the_domains_default_policies() -> None:
    serving = ServerSettings().serving
    assert serving.body_limit_bytes == 10 << 20
    assert serving.logged_body_bytes == 4096
    assert serving.sample_rule() == ALL
    assert serving.autoscale_policy() == AutoscalePolicy()
    assert serving.rollout_policy() == RolloutPolicy()


def test_each_setting_comes_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "BODY_LIMIT_BYTES": "2048",
        "REQUEST_LOG": "1/10",
        "AUTOSCALE_TARGET": "2.5",
        "AUTOSCALE_COOLDOWN": "5",
        "ROLLOUT_FIRST_PERCENT": "25",
        "ROLLOUT_MAX_P99_MS": "300",
    }.items():
        monkeypatch.setenv(f"HEADWATER_SERVING_{name}", value)
    serving = ServerSettings().serving
    assert serving.body_limit_bytes == 2048
    assert serving.sample_rule() == SampleRule(10)
    policy = serving.autoscale_policy()
    assert (policy.target, policy.cooldown) == (2.5, 5.0)
    rollout = serving.rollout_policy()
    assert (rollout.first_percent, rollout.max_p99_ms) == (25, 300.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REQUEST_LOG", "sometimes"),
        ("AUTOSCALE_TARGET", "0"),
        ("ROLLOUT_FIRST_PERCENT", "0"),
        ("ROLLOUT_MAX_ERROR_RATE", "1.5"),
        ("BODY_LIMIT_BYTES", "10"),
    ],
)
def test_a_value_that_cannot_work_stops_the_server_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"HEADWATER_SERVING_{name}", value)
    with pytest.raises(ValidationError):
        ServingSettings()

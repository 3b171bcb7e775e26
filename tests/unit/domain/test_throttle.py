"""Failed logins per username and per address: refused past the limit, never for good."""

from __future__ import annotations

import pytest

from headwater.domain.errors import TooManyAttempts
from headwater.domain.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_a_minute_per_user_then_429_until_the_window_passes() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(5):
        throttle.check("Ann", "10.0.0.1")
        throttle.failed("Ann", "10.0.0.1")
        clock.now += 1
    with pytest.raises(TooManyAttempts) as err:
        throttle.check(" ann ", "10.0.0.2")  # the same user from anywhere
    assert err.value.retry_after == 55  # now 1005; the first failure leaves the window at 1060
    assert err.value.status_code == 429
    throttle.check("bob", "10.0.0.2")  # others are not held up
    clock.now = 1060.5
    throttle.check("ann", "10.0.0.1")


def test_twenty_failures_per_address_across_usernames() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    for i in range(20):
        throttle.failed(f"user{i}", "10.0.0.9")
    with pytest.raises(TooManyAttempts, match="address"):
        throttle.check("someone-new", "10.0.0.9")
    throttle.check("someone-new", "10.0.0.10")
    clock.now += 61
    throttle.check("someone-new", "10.0.0.9")


def test_checks_alone_keep_nothing_in_memory() -> None:
    throttle = LoginThrottle()
    for i in range(1000):
        throttle.check(f"user{i}", f"10.0.{i // 256}.{i % 256}")
    assert not throttle._failures

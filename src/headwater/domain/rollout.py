"""Canary rollouts: how much traffic a new version gets, and when it is rolled back.

The controller calls ``step`` every tick with the canary's and the stable version's stats
since the canary's last step. A canary starts at ``first_percent``; once it has served
``min_requests`` within the rules it advances by ``step_percent`` every ``interval`` seconds,
and is promoted when it would reach 100. A broken rule (error rate, p99 against an absolute
limit or against the stable version's) with at least ``min_requests`` rolls it back, whatever
its percent. With fewer requests there is no verdict either way: it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class RolloutPolicy:
    first_percent: int = 10
    step_percent: int = 20
    interval: float = 60.0  # seconds at a percent before the next step
    min_requests: int = 100  # a canary's requests in a step before any verdict
    max_error_rate: float = 0.05  # errors / requests
    max_p99_ratio: float | None = 2.0  # canary p99 over stable p99 (None: no such rule)
    p99_slack_ms: float = 5.0  # added to the ratio's limit: sub-ms p99s are noise
    max_p99_ms: float | None = None  # an absolute limit on the canary's p99

    def __post_init__(self) -> None:
        if not 1 <= self.first_percent <= 100 or not 1 <= self.step_percent <= 100:
            raise ValueError("rollout percents are whole numbers from 1 to 100")
        if not 0 <= self.max_error_rate <= 1:
            raise ValueError(f"max_error_rate is a share from 0 to 1, not {self.max_error_rate}")
        if self.interval < 0 or self.min_requests < 0:
            raise ValueError("the rollout interval and min_requests are 0 or more")


@dataclass(frozen=True)
class RolloutState:
    canary_percent: int  # 0: not started yet
    last_step_at: datetime | None  # when the percent last changed


@dataclass(frozen=True)
class VersionStats:
    """A version's requests since the canary's last step (from the stats buckets)."""

    requests: int
    errors: int
    p99_ms: float | None


class Action(StrEnum):
    HOLD = "hold"
    ADVANCE = "advance"
    PROMOTE = "promote"  # the canary becomes the live version at 100 %
    ROLLBACK = "rollback"  # the canary gets 0 % and ends rolled_back


@dataclass(frozen=True)
class RolloutDecision:
    action: Action
    canary_percent: int
    reason: str


def broken_rule(
    canary: VersionStats, stable: VersionStats | None, policy: RolloutPolicy
) -> str | None:
    """Which rule the canary breaks, with its numbers; None when it keeps them all."""
    if canary.requests == 0:
        return None
    rate = canary.errors / canary.requests
    if rate > policy.max_error_rate:
        return (
            f"error rate {rate:.0%} > {policy.max_error_rate:.0%} over {canary.requests} requests"
        )
    if canary.p99_ms is None:
        return None
    if policy.max_p99_ms is not None and canary.p99_ms > policy.max_p99_ms:
        return f"p99 {canary.p99_ms:.1f} ms > {policy.max_p99_ms:g} ms"
    if (
        policy.max_p99_ratio is not None
        and stable is not None
        and stable.requests > 0
        and stable.p99_ms is not None
    ):
        limit = policy.max_p99_ratio * stable.p99_ms + policy.p99_slack_ms
        if canary.p99_ms > limit:
            return (
                f"p99 {canary.p99_ms:.1f} ms > {limit:.1f} ms ({policy.max_p99_ratio:g} x the "
                f"stable version's {stable.p99_ms:.1f} ms + {policy.p99_slack_ms:g} ms)"
            )
    return None


def step(
    state: RolloutState,
    canary: VersionStats,
    stable: VersionStats | None,
    now: datetime,
    policy: RolloutPolicy,
) -> RolloutDecision:
    """The canary's next percent and why."""
    percent = state.canary_percent
    if percent == 0:
        if policy.first_percent == 100:  # no canary phase: all at once
            return RolloutDecision(Action.PROMOTE, 100, "first_percent is 100: no canary")
        return RolloutDecision(
            Action.ADVANCE, policy.first_percent, f"canary starts at {policy.first_percent}%"
        )
    if canary.requests < policy.min_requests:
        return RolloutDecision(
            Action.HOLD,
            percent,
            f"waiting for {policy.min_requests} requests at {percent}% (has {canary.requests})",
        )
    broken = broken_rule(canary, stable, policy)
    if broken is not None:
        return RolloutDecision(Action.ROLLBACK, 0, broken)
    waited = 0.0 if state.last_step_at is None else (now - state.last_step_at).total_seconds()
    if state.last_step_at is not None and waited < policy.interval:
        return RolloutDecision(
            Action.HOLD,
            percent,
            f"healthy at {percent}% for {waited:.0f} s of {policy.interval:.0f} s",
        )
    summary = _healthy(canary)
    following = percent + policy.step_percent
    if following >= 100:
        return RolloutDecision(Action.PROMOTE, 100, f"promoted: {summary}")
    return RolloutDecision(Action.ADVANCE, following, f"{percent}% -> {following}%: {summary}")


def _healthy(canary: VersionStats) -> str:
    p99 = "" if canary.p99_ms is None else f", p99 {canary.p99_ms:.1f} ms"
    return f"{canary.errors} errors in {canary.requests} requests{p99}"

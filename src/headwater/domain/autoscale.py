"""How many replicas a version should have, from its recent load.

The rule, in order: a count outside [low, high] is brought inside at once (a replica died, or
someone changed the bounds); within ``cooldown`` of the last change nothing moves; the count
goes up when the load stayed above ``target`` in-flight requests per replica for all of
``up_after`` seconds, to what the lowest load in that window needs; it goes down only when the
load stayed low for all of ``down_after``, to what the highest load in that window needs.

The samples are the gateway's traffic buckets, and the gateway writes a bucket only when a
request starts or ends in it (or is still in flight when it flushes): a bucket it never wrote
was quiet. ``with_quiet_buckets`` puts those zeros back, or traffic that simply stops would
leave its last busy bucket as the latest word and the replicas would never come down.

Both directions size to ``ceil(load / target)``, so a constant load is a fixed point: after
one step up to ``ceil(L / target)`` replicas, the load is no longer above target, and the
down rule asks for the same number. No flapping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

BUCKET_SECONDS = 5  # the gateway's traffic buckets start at multiples of this (epoch seconds)


@dataclass(frozen=True)
class AutoscalePolicy:
    target: float = 4.0  # in-flight requests per replica the version should run at
    up_after: float = 30.0  # seconds the load must stay above target before adding
    down_after: float = 300.0  # seconds of lower load before removing
    cooldown: float = 60.0  # seconds after any change before the next

    def __post_init__(self) -> None:
        if self.target <= 0:
            raise ValueError(f"the autoscale target must be over 0, not {self.target}")
        if min(self.up_after, self.down_after, self.cooldown) < 0:
            raise ValueError("autoscale periods are 0 seconds or more")


@dataclass(frozen=True)
class LoadSample:
    """One stats bucket of a version: its peak in-flight requests, all replicas together."""

    at: datetime
    in_flight: float


@dataclass(frozen=True)
class Decision:
    replicas: int
    reason: str


def needed(load: float, target: float) -> int:
    """Replicas that keep ``load`` at or under ``target`` each."""
    return math.ceil(load / target - 1e-9)


def with_quiet_buckets(
    samples: Sequence[LoadSample],
    *,
    since: datetime,
    until: datetime,
    bucket_seconds: int = BUCKET_SECONDS,
) -> list[LoadSample]:
    """``samples`` with a zero load for each bucket between ``since`` and ``until`` that has
    none, oldest first. Only buckets that ended by ``until`` are filled: one still filling may
    simply not be written yet (the caller leaves the gateway's flush delay before ``until``)."""
    seen = {s.at for s in samples}
    first = int(since.timestamp()) // bucket_seconds * bucket_seconds
    last = int(until.timestamp()) - bucket_seconds  # the newest start of an ended bucket
    quiet = [
        LoadSample(at, 0.0)
        for start in range(first, last + 1, bucket_seconds)
        if (at := datetime.fromtimestamp(start, UTC)) not in seen
    ]
    return sorted([*samples, *quiet], key=lambda s: s.at)


def window(samples: Sequence[LoadSample], now: datetime, seconds: float) -> list[float] | None:
    """The loads over the last ``seconds``, starting from the last sample at or before its
    start, so the window is covered; None when the samples do not reach back that far."""
    start = now - timedelta(seconds=seconds)
    before = [s.at for s in samples if s.at <= start]
    if not before:
        return None
    anchor = max(before)
    return [s.in_flight for s in samples if anchor <= s.at <= now]


def decide(
    current: int,
    low: int,
    high: int,
    samples: Sequence[LoadSample],
    now: datetime,
    last_change: datetime | None,
    policy: AutoscalePolicy,
) -> Decision:
    """The number of replicas to keep now, and why (``replicas == current``: hold)."""
    if low > high:
        raise ValueError(f"the replica bounds are upside down: {low} > {high}")
    if current < low:
        return Decision(low, f"{current} replicas, below the minimum of {low}: starting more")
    if current > high:
        return Decision(high, f"{current} replicas, over the maximum of {high}: stopping some")
    if last_change is not None:
        quiet = (now - last_change).total_seconds()
        if quiet < policy.cooldown:
            return Decision(current, f"cooling down ({quiet:.0f} s of {policy.cooldown:.0f} s)")
    capacity = current * policy.target
    recent = window(samples, now, policy.up_after)
    if recent and current < high and min(recent) > capacity:
        want = min(high, needed(min(recent), policy.target))
        return Decision(
            want,
            f"in-flight stayed above {capacity:g} ({policy.target:g} x {current}) for "
            f"{policy.up_after:.0f} s, at least {min(recent):g}: {current} -> {want}",
        )
    calm = window(samples, now, policy.down_after)
    if calm and current > low:
        want = max(low, needed(max(calm), policy.target))
        if want < current:
            return Decision(
                want,
                f"in-flight stayed at or under {max(calm):g} for {policy.down_after:.0f} s, "
                f"{want} replicas carry it at {policy.target:g} each: {current} -> {want}",
            )
    return Decision(current, f"{current} replicas carry the load")

"""Compute usage over time (seed 004's monitoring): what jobs hold per compute template, sampled
at a bounded rate into a bounded history.

A sample keeps its figures per (project, compute template), so that one history serves every
caller: each sees the sum over the projects they may see, never another project's jobs. Only
pairs with a job in them are stored, so an idle server's samples are empty.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# A job still waiting for its compute has none chosen yet: its first choice names it.
DEFAULT_COMPUTE = "default"
# The most (project, compute) pairs one sample keeps; the rest are summed into OTHER.
MAX_PAIRS = 500
OTHER = "(other)"


@dataclass(frozen=True)
class Usage:
    """What the jobs of one (project, compute) pair hold and how many there are."""

    active: int = 0  # running
    pending: int = 0  # queued or initializing
    cpus: float = 0.0  # held by initializing and running jobs
    memory_mb: int = 0
    gpus: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            active=self.active + other.active,
            pending=self.pending + other.pending,
            cpus=self.cpus + other.cpus,
            memory_mb=self.memory_mb + other.memory_mb,
            gpus=self.gpus + other.gpus,
        )


@dataclass(frozen=True)
class Sample:
    at: datetime
    usage: Mapping[tuple[str, str], Usage]  # (project id, compute template): its usage


def compute_of(chosen: str | None, requested: Iterable[str]) -> str:
    """The template a job runs on, or (still waiting) the first it asked for."""
    if chosen:
        return chosen
    return next(iter(requested), DEFAULT_COMPUTE)


def bounded(
    usage: Mapping[tuple[str, str], Usage], limit: int = MAX_PAIRS
) -> dict[tuple[str, str], Usage]:
    """At most ``limit`` pairs: the busiest kept, the others summed per project into OTHER."""
    if len(usage) <= limit:
        return dict(usage)
    ranked = sorted(usage.items(), key=lambda kv: (-(kv[1].active + kv[1].pending), kv[0]))
    kept = dict(ranked[: limit - 1])
    rest = Usage()
    for _, u in ranked[limit - 1 :]:
        rest = rest + u
    kept[("", OTHER)] = rest
    return kept


def per_compute(
    usage: Mapping[tuple[str, str], Usage], visible: Collection[str] | None
) -> dict[str, Usage]:
    """Sum over the projects in ``visible`` (``None``: all of them), per compute template.
    The OTHER bucket, which mixes projects, only shows to a caller who sees them all."""
    out: dict[str, Usage] = {}
    for (project, compute), u in usage.items():
        if visible is not None and project not in visible:
            continue
        out[compute] = out.get(compute, Usage()) + u
    return out


@dataclass
class UsageHistory:
    """The last ``retention`` of samples, at most one per ``interval``; thread-safe.

    Kept in memory, not in a table: the chart shows the last hour or so, a restart losing it
    costs a gap on the chart and nothing else, and no write per sample reaches the database
    (one writer serialises SQLite's writes; a sampler must not queue behind user requests).
    """

    interval: timedelta
    retention: timedelta
    _samples: deque[Sample] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def capacity(self) -> int:
        return max(1, int(self.retention / self.interval))

    def maybe_sample(
        self, now: datetime, take: Callable[[], Mapping[tuple[str, str], Usage]]
    ) -> bool:
        """Take a sample unless the last is younger than ``interval``; whether one was taken.
        However many callers ask (the sampler thread, each page poll), the rate stays bounded."""
        with self._lock:
            if self._samples and now - self._samples[-1].at < self.interval:
                return False
            self._samples.append(Sample(at=now, usage=bounded(take())))
            while len(self._samples) > self.capacity:
                self._samples.popleft()
            return True

    def since(self, start: datetime) -> list[Sample]:
        with self._lock:
            return [s for s in self._samples if s.at >= start]

    def __len__(self) -> int:
        with self._lock:
            return len(self._samples)

"""A small mergeable latency histogram: fixed log-spaced buckets from 0.1 ms to 60 s.

Every gateway process records into its own histogram per (endpoint, version) and writes it
every stats bucket; readers merge any number of them (other processes, a longer period) by
adding counts, which is exact because the buckets are the same everywhere. Quantiles are
known to within one bucket: 20 buckets per decade, so an estimate (the geometric middle of
the bucket, whose ends differ by 10**0.05 = 1.122) is within 6 % of the true value.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence

LOWEST_MS = 0.1
HIGHEST_MS = 60_000.0
PER_DECADE = 20
# Upper edges of the buckets in ms. Bucket 0 is [0, 0.1 ms), bucket i is
# [EDGES[i-1], EDGES[i]), and the last bucket (len(EDGES)) holds everything from EDGES[-1]
# (the first edge at or over 60 s: 63.1 s) on.
EDGES: tuple[float, ...] = tuple(
    LOWEST_MS * 10 ** (i / PER_DECADE)
    for i in range(math.ceil(PER_DECADE * math.log10(HIGHEST_MS / LOWEST_MS)) + 1)
)
BUCKETS = len(EDGES) + 1
RATIO = 10 ** (1 / PER_DECADE)  # how far apart a bucket's ends are


def bucket_of(ms: float) -> int:
    """The index of the bucket ``ms`` falls in (negative values count as 0)."""
    return bisect.bisect_right(EDGES, ms)


def bucket_value(index: int) -> float:
    """What a bucket stands for: its geometric middle; its one finite end at either extreme."""
    if index == 0:
        return EDGES[0]
    if index >= len(EDGES):
        return EDGES[-1]
    return math.sqrt(EDGES[index - 1] * EDGES[index])


class LatencyHistogram:
    """Counts of requests per latency bucket. ``record`` changes it; ``merge`` makes a new one."""

    __slots__ = ("counts",)

    def __init__(self, counts: Sequence[int] | None = None) -> None:
        self.counts = list(counts) if counts is not None else [0] * BUCKETS

    def record(self, ms: float) -> None:
        self.counts[bucket_of(ms)] += 1

    @property
    def count(self) -> int:
        return sum(self.counts)

    def merge(self, other: LatencyHistogram) -> LatencyHistogram:
        return LatencyHistogram([a + b for a, b in zip(self.counts, other.counts, strict=True)])

    @classmethod
    def merged(cls, histograms: Iterable[LatencyHistogram]) -> LatencyHistogram:
        total = cls()
        for histogram in histograms:
            total = total.merge(histogram)
        return total

    def quantile(self, q: float) -> float | None:
        """The latency (ms) under which a share ``q`` of requests finished; None when empty.

        Nearest rank: the bucket holding the ``ceil(q * n)``-th smallest value, so p50 and p99
        are off by at most one bucket's width (see the module docstring).
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"a quantile is between 0 and 1, not {q}")
        n = self.count
        if n == 0:
            return None
        rank = max(1, math.ceil(q * n))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return bucket_value(index)
        raise AssertionError("unreachable: the ranks add up to the count")

    def to_list(self) -> list[int]:
        """For storage as JSON: the counts, without the trailing empty buckets."""
        end = len(self.counts)
        while end and self.counts[end - 1] == 0:
            end -= 1
        return self.counts[:end]

    @classmethod
    def from_list(cls, counts: Sequence[int]) -> LatencyHistogram:
        """The inverse of ``to_list``; refuses what no histogram could have written."""
        if len(counts) > BUCKETS:
            raise ValueError(f"a latency histogram has {BUCKETS} buckets, not {len(counts)}")
        if any(not isinstance(c, int) or isinstance(c, bool) or c < 0 for c in counts):
            raise ValueError("latency histogram counts are whole numbers, 0 or more")
        return cls([*counts, *[0] * (BUCKETS - len(counts))])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LatencyHistogram) and self.counts == other.counts

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"LatencyHistogram(n={self.count}, p50={self.quantile(0.5)})"

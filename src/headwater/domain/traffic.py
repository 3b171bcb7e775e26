"""How the gateway spreads requests: the traffic split between versions, then a replica.

The version is chosen by smooth weighted round-robin (nginx's): each pick adds every
version's weight to its running score, takes the highest score and subtracts the total from
it. Over every 100 picks a version with 10 % gets exactly 10, spread out rather than in a run,
so a canary's share is what the rollout says, not luck. Inside the version the replica with
the fewest in-flight requests takes it (ties in turn), so a slow replica gets fewer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from headwater.domain.errors import InvalidInput


def check_split(split: Mapping[str, int], *, where: str = "traffic") -> dict[str, int]:
    """``{version_id: percent}``: whole percents from 0 to 100 that add up to 100."""
    if not split:
        raise InvalidInput(
            "a traffic split needs at least one version", where=where, hint="e.g. {v1: 100}"
        )
    for version, percent in split.items():
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise InvalidInput(
                f"version {version}'s share {percent!r} is not a whole percent from 0 to 100",
                where=f"{where}.{version}",
                hint="Give each version a whole number of percent, e.g. 90 and 10.",
            )
    total = sum(split.values())
    if total != 100:
        raise InvalidInput(
            f"the traffic split adds up to {total}%, not 100%",
            where=where,
            hint="Make the versions' shares add up to exactly 100.",
        )
    return dict(split)


class VersionPicker:
    """Smooth weighted round-robin over a checked split; one per endpoint in a gateway.

    Not thread-safe: the gateway calls it from its event loop only.
    """

    def __init__(self, split: Mapping[str, int]) -> None:
        self.split = check_split(split)
        self._score = dict.fromkeys(self.split, 0)
        # one version with all the traffic (most endpoints, most of the time): its score
        # would gain 100 and lose 100 on every pick, so the pick is the version itself
        self._only = next(iter(self.split)) if len(self.split) == 1 else None

    def pick(self, among: frozenset[str] | None = None) -> str | None:
        """The next version; only one in ``among`` when given (those with a ready replica).

        Versions left out keep their score, so when one comes back its share catches up
        within a round rather than being lost.
        """
        only = self._only
        if only is not None:
            return only if among is None or only in among else None
        candidates = [v for v, w in self.split.items() if w > 0 and (among is None or v in among)]
        if not candidates:
            return None
        total = sum(self.split[v] for v in candidates)
        for version in candidates:
            self._score[version] += self.split[version]
        chosen = max(candidates, key=self._score.__getitem__)  # first of equals: split order
        self._score[chosen] -= total
        return chosen


class ReplicaLoad(NamedTuple):
    """A ready replica as the gateway sees it (a tuple: the gateway makes some per request)."""

    replica_id: str
    in_flight: int


def least_loaded(replicas: Sequence[ReplicaLoad], *, turn: int = 0) -> str | None:
    """The replica with the fewest in-flight requests; among equals the ``turn``-th, so
    idle replicas take requests in turn rather than the first taking them all."""
    if not replicas:
        return None
    fewest = min(r.in_flight for r in replicas)
    idle = [r.replica_id for r in replicas if r.in_flight == fewest]
    return idle[turn % len(idle)]


class Route(NamedTuple):
    """Where one request goes."""

    version_id: str
    replica_id: str


def choose(
    picker: VersionPicker,
    ready: Mapping[str, Sequence[ReplicaLoad]],
    *,
    turn: int = 0,
) -> Route | None:
    """Where one request goes: a version by the split among those with a ready replica
    (a canary still starting leaves its share to the others), then its least-loaded replica.
    None when no version in the split has a ready replica (the gateway answers 503)."""
    version = picker.pick(frozenset(v for v, replicas in ready.items() if replicas))
    if version is None:
        return None
    replica = least_loaded(ready[version], turn=turn)
    assert replica is not None  # the version was picked because it has one
    return Route(version_id=version, replica_id=replica)

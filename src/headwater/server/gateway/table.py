"""The gateway's routing table: per slug, what the database says, cached for a moment.

The hot path never waits on the database while an entry is fresh (``ttl`` seconds, 1 by
default): keys, the traffic split and the ready replicas are read once per slug per period,
in a thread, and concurrent requests for a slug being loaded share that one load. An unknown
slug is cached too, so a stream of guesses costs the database one read per period.
``invalidate(slug)`` makes an entry stale at once: the management routes call it after a key
rotation, a scale or a stop, so what they changed holds for the next request in this process
(other server processes see it within ``ttl``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from headwater.db.database import Database
from headwater.db.repos.endpoints import EndpointRepo
from headwater.db.repos.settings import SettingsRepo
from headwater.db.tables import ExperimentRow
from headwater.domain.endpoints import EndpointStatus, ReplicaState, key_matches
from headwater.domain.errors import InvalidInput
from headwater.domain.jobs import JobState
from headwater.domain.sampling import SampleRule, effective_rule
from headwater.domain.traffic import ReplicaLoad, Route, VersionPicker, choose

UNIX = "unix:"
HTTP = "http://"  # a version's Ray Serve application, through Serve's proxy


@dataclass
class Target:
    """A ready replica the gateway may send requests to."""

    replica_id: str
    version_id: str
    socket: str  # the Unix socket's path, or a Ray Serve application's http:// URL


@dataclass
class EndpointRoute:
    """What one slug leads to, as loaded; ``in_flight`` and ``dead`` are this process's own."""

    endpoint_id: str
    project_id: str
    slug: str
    serving: bool  # its owner wants it running (stopped: 503)
    key_hashes: tuple[str, ...]  # the endpoint's own key, the project's single key
    sample: SampleRule
    split: dict[str, int]  # version id: percent, versions with traffic only
    numbers: dict[str, int]  # version id: its number (for metrics and the log)
    targets: dict[str, Target]  # replica id: where it listens
    loaded_at: float
    picker: VersionPicker | None = None
    in_flight: dict[str, int] = field(default_factory=dict)  # replica id: requests
    dead: dict[str, float] = field(default_factory=dict)  # replica id: when it broke
    turn: int = 0
    counter: int = 0  # requests seen, for the sampling rule

    def accepts(self, key: str) -> bool:
        """Whether ``key`` is one of the endpoint's keys (constant time per key)."""
        # a list, not a generator: every key is compared, so the time tells nothing
        return any([key_matches(key, stored) for stored in self.key_hashes])  # noqa: C419

    def choose(self, now: float, dead_for: float) -> Route | None:
        """A version by the split, then its least-loaded ready replica; None: none is ready.
        A replica whose connection broke less than ``dead_for`` seconds ago is left out."""
        if self.picker is None:
            return None
        ready: dict[str, list[ReplicaLoad]] = {}
        dead, in_flight = self.dead, self.in_flight
        for replica_id, target in self.targets.items():
            if dead:
                broke = dead.get(replica_id)
                if broke is not None and now - broke < dead_for:
                    continue
            load = ReplicaLoad(replica_id, in_flight.get(replica_id, 0))
            versions = ready.get(target.version_id)
            if versions is None:
                ready[target.version_id] = [load]
            else:
                versions.append(load)
        self.turn += 1
        return choose(self.picker, ready, turn=self.turn)


Loader = Callable[[str], "EndpointRoute | None"]


class RouteTable:
    """Slug -> ``EndpointRoute``, refreshed every ``ttl`` seconds."""

    def __init__(self, load: Loader, *, ttl: float = 1.0) -> None:
        self._load = load
        self.ttl = ttl
        self._entries: dict[str, tuple[float, EndpointRoute | None]] = {}
        self._loading: dict[str, asyncio.Future[EndpointRoute | None]] = {}

    async def get(self, slug: str) -> EndpointRoute | None:
        cached = self._entries.get(slug)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        pending = self._loading.get(slug)
        if pending is not None:
            return await asyncio.shield(pending)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[EndpointRoute | None] = loop.create_future()
        self._loading[slug] = future
        try:
            fresh = await loop.run_in_executor(None, self._load, slug)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: the waiters get it too
            raise
        finally:
            self._loading.pop(slug, None)
        previous = cached[1] if cached is not None else None
        if fresh is not None and previous is not None:
            carry_over(previous, fresh)
        if len(self._entries) > 10_000:  # many slugs guessed: forget, do not grow
            self._entries.clear()
        self._entries[slug] = (time.monotonic(), fresh)
        future.set_result(fresh)
        return fresh

    def invalidate(self, slug: str | None = None) -> None:
        """Make ``slug``'s entry (every entry when None) stale: the next request reads the
        database. The entry itself stays, so what this process learned carries over."""
        for name in list(self._entries) if slug is None else [slug]:
            entry = self._entries.get(name)
            if entry is not None:
                self._entries[name] = (-math.inf, entry[1])


def carry_over(previous: EndpointRoute, fresh: EndpointRoute) -> None:
    """What the process learned keeps across a reload: in-flight counts, replicas seen dead
    while the database still lists them (the controller has not replaced them yet), the
    request counter and, while the split is the same, the picker's place in its round."""
    fresh.in_flight = previous.in_flight
    fresh.dead = {r: at for r, at in previous.dead.items() if r in fresh.targets}
    fresh.counter = previous.counter
    fresh.turn = previous.turn
    if previous.picker is not None and previous.split == fresh.split:
        fresh.picker = previous.picker


def database_loader(db: Database, default_sample: str) -> Loader:
    """Read one slug's routing entry (sync: the table runs it in a thread)."""

    def load(slug: str) -> EndpointRoute | None:
        with db.read() as session:
            repo = EndpointRepo(session)
            endpoint = repo.by_slug(slug)
            if endpoint is None:
                return None
            settings = SettingsRepo(session).get(endpoint.project_id)
            hashes = [repo.key_hash(endpoint.id)]
            if settings.single_deploy_api_key:
                project_key = repo.project_key(endpoint.project_id)
                hashes.append(project_key[0] if project_key else None)
            versions = repo.versions(endpoint.id)
            replicas = [
                r
                for r in repo.replicas(endpoint.id)
                if r.state == ReplicaState.READY
                and r.address
                and r.address.startswith((UNIX, HTTP))
            ]
            running = set(
                session.scalars(
                    select(ExperimentRow.id).where(
                        ExperimentRow.id.in_([r.experiment_id for r in replicas]),
                        ExperimentRow.state == JobState.RUNNING,
                    )
                )
            )
        split = {v.id: v.traffic for v in versions if v.traffic > 0}
        route = EndpointRoute(
            endpoint_id=endpoint.id,
            project_id=endpoint.project_id,
            slug=endpoint.slug,
            serving=endpoint.desired == "running" and endpoint.status != EndpointStatus.STOPPED,
            key_hashes=tuple(h for h in hashes if h),
            sample=effective_rule(
                endpoint.options.get("request_log"), settings.request_log, default_sample
            ),
            split=split,
            numbers={v.id: v.number for v in versions},
            targets={
                r.id: Target(r.id, r.version_id, _where(r.address))
                for r in replicas
                if r.experiment_id in running and r.address and r.version_id in split
            },
            loaded_at=time.monotonic(),
        )
        try:
            route.picker = VersionPicker(split) if split else None
        except InvalidInput:  # mid-change by the controller: serve what is consistent
            route.picker = None
        return route

    return load


def _where(address: str) -> str:
    return address[len(UNIX) :] if address.startswith(UNIX) else address

"""The serving controller: keeps every endpoint's replicas, versions and status where the
database says they should be. Called from the engine's loop, on the leader only.

Each tick, for each endpoint that should serve or still has replicas (``all_live``), in one
transaction:

1. replicas whose task ended are marked gone (a replica that ended before it was ever ready
   counts against its version: ``START_FAILURES`` of them and the version has failed);
2. a stopped endpoint's replicas are stopped;
3. a pending version becomes live (the endpoint's first, or when none serves) or a canary,
   which ``domain/rollout.py`` moves on from the traffic buckets (advance, promote: the old
   version retires; roll back: the reason is recorded);
4. the live version's replica count comes from ``domain/autoscale.py`` (in-flight peaks of the
   buckets the gateway writes), a canary keeps ``min_replicas``; missing replicas are created
   as queued tasks (the scheduler starts them with the endpoint's compute, like any task),
   extra ones and those of versions that stopped serving are stopped, and every replica
   marked stopping has its task stopped once its drain is over, whatever its version;
5. the endpoint's status follows (``domain/replicas.endpoint_status``).

It keeps no state of its own: a restart, or another server taking the lead, picks up from the
database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from headwater.db.database import Database
from headwater.db.repos.endpoints import EndpointRepo
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.settings import SettingsRepo
from headwater.domain.autoscale import AutoscalePolicy, LoadSample, decide, with_quiet_buckets
from headwater.domain.endpoint_records import Endpoint, EndpointVersion, Replica, TrafficBucket
from headwater.domain.endpoints import (
    EndpointStatus,
    ReplicaState,
    VersionState,
    can_move,
)
from headwater.domain.errors import NotFound
from headwater.domain.jobs import Experiment, JobState
from headwater.domain.latency import LatencyHistogram
from headwater.domain.replicas import (
    START_FAILURES,
    VersionView,
    endpoint_status,
    replica_command,
    replica_title,
)
from headwater.domain.rollout import Action, RolloutPolicy, RolloutState, VersionStats, step

log = logging.getLogger("headwater.engine.serving")

SERVING = (VersionState.LIVE.value, VersionState.CANARY.value)
# A replica marked stopping keeps running this long before its task is stopped: every server
# process's gateway rereads its routes within a second (``route_ttl``), so none sends it a
# request after it has stopped listening. A rollout that succeeds fails no request.
DRAIN_SECONDS = 2.5
# A traffic bucket's last counts reach the database within a gateway flush (1 s) after it
# ends; only then does a bucket that is not there count as quiet for the autoscaler.
SETTLE_SECONDS = 2.0


@dataclass
class Tick:
    """What one tick did, for the engine (start what was queued, stop what was marked)."""

    created: int = 0
    to_stop: list[tuple[Experiment, str]] = field(default_factory=list)  # and why


class ServingController:
    def __init__(
        self,
        db: Database,
        *,
        stop: Callable[[Experiment, str], bool],
        autoscale: AutoscalePolicy | None = None,
        rollout: RolloutPolicy | None = None,
        max_body: int | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.stop = stop
        self.autoscale = autoscale or AutoscalePolicy()
        self.rollout = rollout or RolloutPolicy()
        self.max_body = max_body  # the gateway's body limit, given to each replica
        self.clock = clock
        # replica id: when it was first seen stopping, and why it stops
        self.draining: dict[str, tuple[datetime, str]] = {}

    def tick(self) -> int:
        """One pass over every endpoint; returns how many replica tasks it queued."""
        with self.db.read() as session:
            endpoints = EndpointRepo(session).all_live()
        created = 0
        for endpoint in endpoints:
            try:
                with self.db.write() as session:
                    done = EndpointPass(session, endpoint, self).run()
            except NotFound:
                continue  # deleted since the list was read
            except Exception:  # one endpoint's trouble must not stop the others
                log.exception("serving: endpoint %s", endpoint.slug)
                continue
            created += done.created
            for experiment, why in done.to_stop:
                self.stop(experiment, why)
        return created


class EndpointPass:
    """One endpoint in one tick, inside one write transaction."""

    def __init__(self, session: Session, endpoint: Endpoint, controller: ServingController):
        self.s = session
        self.e = endpoint
        self.c = controller
        self.now = controller.clock()
        self.repo = EndpointRepo(session)
        self.experiments = ExperimentRepo(session)
        self.out = Tick()

    def run(self) -> Tick:
        self.repo.lock(self.e.id)  # before any of its rows: see EndpointRepo.lock
        replicas = self.end_gone(self.repo.replicas(self.e.id))
        versions = self.repo.versions(self.e.id)
        failed = self.fail_versions(versions)
        versions = self.repo.versions(self.e.id)
        if self.e.desired == "stopped":
            for replica in replicas:
                self.stop_replica(replica, "the endpoint was stopped")
            self.set_status(EndpointStatus.STOPPED)
            return self.out
        versions = self.activate(versions)
        versions = self.roll(versions, replicas)
        views = self.size(versions, replicas)
        self.set_status(
            endpoint_status(self.e.status, desired=self.e.desired, serving=views, failed=failed)
        )
        return self.out

    # -- replicas whose task ended -------------------------------------------------------

    def end_gone(self, replicas: list[Replica]) -> list[Replica]:
        """Mark gone the replicas whose task has ended; the others, still there."""
        alive = []
        for replica in replicas:
            experiment = self.experiments.get(replica.experiment_id)
            if experiment.state.terminal:
                self.c.draining.pop(replica.id, None)
                self.repo.update_replica(
                    replica.id, state=ReplicaState.GONE.value, ended_at=self.now, address=None
                )
                if replica.state != ReplicaState.STOPPING.value:
                    log.info(
                        "endpoint %s: replica (experiment %s) ended %s: %s",
                        self.e.slug,
                        experiment.number,
                        experiment.state.value,
                        experiment.reason,
                    )
            else:
                alive.append(replica)
        return alive

    def fail_versions(self, versions: list[EndpointVersion]) -> bool:
        """A version whose replicas keep ending before they are ever ready has failed (its
        reason: the last one's); True when every version has failed or ended."""
        everything = self.repo.replicas(self.e.id, live_only=False)
        for version in versions:
            if version.state not in (*SERVING, VersionState.PENDING.value):
                continue
            mine = [r for r in everything if r.version_id == version.id]
            if any(r.ready_at is not None for r in mine):
                continue
            # ended by themselves: a replica stopped while starting (scaled down, the endpoint
            # stopped) ended aborted and says nothing about its version
            broken = [
                r
                for r in mine
                if r.state == ReplicaState.GONE.value
                and self.experiments.get(r.experiment_id).state is JobState.FAILED
            ]
            if len(broken) < START_FAILURES:
                continue
            last = self.experiments.get(broken[-1].experiment_id)
            reason = (
                f"{len(broken)} replicas ended before serving; the last (experiment "
                f"{last.number}): {last.reason or last.state.value}"
            )
            self.repo.update_version(
                version.id,
                state=VersionState.FAILED.value,
                traffic=0,
                reason=reason,
                ended_at=self.now,
            )
            self.give_back_traffic(version)
        can_serve = (*SERVING, VersionState.PENDING.value)
        return not [v for v in self.repo.versions(self.e.id) if v.state in can_serve]

    def give_back_traffic(self, version: EndpointVersion) -> None:
        """A canary that ends: the live version takes its share again."""
        for other in self.repo.versions(self.e.id):
            if other.id != version.id and other.state == VersionState.LIVE.value:
                self.repo.update_version(other.id, traffic=100)

    # -- versions -------------------------------------------------------------------------

    def activate(self, versions: list[EndpointVersion]) -> list[EndpointVersion]:
        """The newest pending version: live when nothing serves (all the traffic), else a
        canary at 0 % until its replicas are ready. Older pending ones and an older canary
        retire: only the newest deploy rolls out."""
        pending = [v for v in versions if v.state == VersionState.PENDING.value]
        if not pending:
            return versions
        newest, older = pending[0], pending[1:]
        live = [v for v in versions if v.state == VersionState.LIVE.value]
        canaries = [v for v in versions if v.state == VersionState.CANARY.value]
        for version in [*older, *canaries]:
            self.repo.update_version(version.id, state=VersionState.RETIRED.value, traffic=0)
        if not live:
            self.repo.update_version(
                newest.id, state=VersionState.LIVE.value, traffic=100, stepped_at=self.now
            )
        else:
            self.repo.update_version(newest.id, state=VersionState.CANARY.value, traffic=0)
            self.repo.update_version(live[0].id, traffic=100)
        return self.repo.versions(self.e.id)

    def roll(
        self, versions: list[EndpointVersion], replicas: list[Replica]
    ) -> list[EndpointVersion]:
        """Move the canary on by the rollout policy, once it has a ready replica."""
        canary = next((v for v in versions if v.state == VersionState.CANARY.value), None)
        stable = next((v for v in versions if v.state == VersionState.LIVE.value), None)
        if canary is None:
            return versions
        ready = [
            r for r in replicas if r.version_id == canary.id and r.state == ReplicaState.READY.value
        ]
        if not ready:
            return versions
        since = canary.stepped_at or canary.created_at
        buckets = self.repo.traffic(self.e.id, _aware(since))
        decision = step(
            RolloutState(canary.traffic, _aware(canary.stepped_at) if canary.stepped_at else None),
            stats_of(buckets, canary.id),
            stats_of(buckets, stable.id) if stable else None,
            self.now,
            self.c.rollout,
        )
        if decision.action is Action.HOLD:
            return versions
        log.info("endpoint %s: version %s: %s", self.e.slug, canary.number, decision.reason)
        if decision.action is Action.ADVANCE:
            self.repo.update_version(
                canary.id, traffic=decision.canary_percent, stepped_at=self.now
            )
            if stable is not None:
                self.repo.update_version(stable.id, traffic=100 - decision.canary_percent)
        elif decision.action is Action.PROMOTE:
            self.repo.update_version(
                canary.id, state=VersionState.LIVE.value, traffic=100, stepped_at=self.now
            )
            if stable is not None:
                self.repo.update_version(
                    stable.id, state=VersionState.RETIRED.value, traffic=0, ended_at=self.now
                )
        else:  # roll back
            self.repo.update_version(
                canary.id,
                state=VersionState.ROLLED_BACK.value,
                traffic=0,
                reason=f"rolled back: {decision.reason}",
                ended_at=self.now,
            )
            self.give_back_traffic(canary)
        return self.repo.versions(self.e.id)

    # -- replica counts -------------------------------------------------------------------

    def size(self, versions: list[EndpointVersion], replicas: list[Replica]) -> list[VersionView]:
        """Start missing replicas, stop extra ones and those of versions that stopped
        serving; the views the status is decided from."""
        serving = {v.id: v for v in versions if v.state in SERVING}
        views = []
        for replica in replicas:
            if replica.version_id not in serving:
                self.stop_replica(replica, "its version no longer serves")
            elif replica.state == ReplicaState.STOPPING.value:
                # marked in an earlier tick (a scale-down, a stop the endpoint's start undid):
                # its version serves on, yet its task stops once the drain is over
                self.stop_replica(replica, "")
        for version in serving.values():
            canary = version.state == VersionState.CANARY.value
            wanted = self.e.min_replicas if canary else self.wanted(version)
            mine = [
                r
                for r in replicas
                if r.version_id == version.id and r.state != ReplicaState.STOPPING.value
            ]
            if wanted > len(mine) and not version.definition.get("function_name"):
                self.repo.update_version(  # recorded by hand, say: nothing to start
                    version.id,
                    state=VersionState.FAILED.value,
                    traffic=0,
                    reason="the version names no function to serve",
                    ended_at=self.now,
                )
                continue
            for _ in range(wanted - len(mine)):
                self.start_replica(version)
            # the extra ones: those still starting first, then the newest
            newest = sorted(mine, key=lambda r: r.created_at, reverse=True)
            extra = sorted(newest, key=lambda r: r.state == ReplicaState.READY.value)
            for replica in extra[: max(0, len(mine) - wanted)]:
                plural = "" if wanted == 1 else "s"
                self.stop_replica(replica, f"scaled down to {wanted} replica{plural}")
            ready = sum(1 for r in mine if r.state == ReplicaState.READY.value)
            views.append(VersionView(version.traffic, wanted, min(ready, wanted), canary))
        return views

    def wanted(self, version: EndpointVersion) -> int:
        """The autoscaler's replica count for the live version, recorded on the endpoint."""
        policy = self.c.autoscale
        reach = max(policy.up_after, policy.down_after) + 10.0
        buckets = self.repo.traffic(self.e.id, self.now - timedelta(seconds=reach))
        written = [
            LoadSample(_aware(b.bucket), float(b.inflight_peak))
            for b in buckets
            if b.version_id == version.id
        ]
        # the buckets no request touched since the version began serving were quiet ones
        serving_since = _aware(version.stepped_at or version.created_at)
        samples = with_quiet_buckets(
            written,
            since=max(serving_since, self.now - timedelta(seconds=reach)),
            until=self.now - timedelta(seconds=SETTLE_SECONDS),
        )
        scaled = _aware(self.e.scaled_at) if self.e.scaled_at else None
        decision = decide(
            self.e.replicas_wanted,
            self.e.min_replicas,
            self.e.max_replicas,
            samples,
            self.now,
            scaled,
            policy,
        )
        if decision.replicas != self.e.replicas_wanted:
            log.info("endpoint %s: %s", self.e.slug, decision.reason)
            self.repo.update(self.e.id, replicas_wanted=decision.replicas, scaled_at=self.now)
        return decision.replicas

    def start_replica(self, version: EndpointVersion) -> None:
        """A queued task serving ``version``: the scheduler starts it like any other."""
        source = version.source
        definition = version.definition
        settings = SettingsRepo(self.s).get(self.e.project_id)
        flow: dict[str, Any] = {
            "inputs": list(source.get("inputs", [])),
            "passed": list(source.get("passed", [])),
        }
        [made] = self.experiments.create_many(
            self.e.project_id,
            version.created_by or self.e.created_by or "",
            command=replica_command(
                definition,
                str(source.get("file") or definition["file_name"]),
                max_body=self.c.max_body,
            ),
            runs=[{}],
            title=replica_title(self.e.title),
            computes=list(definition.get("computes", [])),
            start_commit=source.get("commit"),
            output_dir=settings.output_dir,
            options={
                "replica": {"endpoint": self.e.id, "version": version.id},
                "flow": flow,
                "periodic_sync": False,
                "model_mount": source.get("model"),
            },
            resources={},
        )
        self.repo.add_replica(self.e.id, version.id, made.id)
        self.out.created += 1

    def stop_replica(self, replica: Replica, why: str) -> None:
        """No new requests (the gateway routes to ready ones only), then, once every gateway
        has seen that (``DRAIN_SECONDS``), its task stops. Called again each tick until its
        task has ended (``end_gone``); the reason is the first call's (``why`` empty: the one
        recorded then, or, after a restart, a generic one)."""
        if replica.state != ReplicaState.STOPPING.value:
            self.repo.update_replica(replica.id, state=ReplicaState.STOPPING.value)
        since, why = self.c.draining.setdefault(
            replica.id, (self.now, why or "the replica was stopping")
        )
        if replica.address is not None and (self.now - since).total_seconds() < DRAIN_SECONDS:
            return
        experiment = self.experiments.get(replica.experiment_id)
        if not experiment.state.terminal:
            self.out.to_stop.append((experiment, why))

    def set_status(self, target: EndpointStatus) -> None:
        current = EndpointStatus(self.e.status)
        if target is current:
            return
        if not can_move(current, target):
            log.debug("endpoint %s: no move %s -> %s", self.e.slug, current, target)
            return
        self.repo.update(self.e.id, status=target.value)


def stats_of(buckets: list[TrafficBucket], version_id: str) -> VersionStats:
    """A version's requests, errors and p99 over ``buckets``."""
    mine = [b for b in buckets if b.version_id == version_id]
    histogram = LatencyHistogram.merged(LatencyHistogram.from_list(b.latency) for b in mine)
    return VersionStats(
        requests=sum(b.requests for b in mine),
        errors=sum(b.errors for b in mine),
        p99_ms=histogram.quantile(0.99),
    )


def _aware(at: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were written in UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)

"""Endpoints, their versions and replicas, keys, the sampled request log and traffic buckets.

Reads return ``domain.endpoint_records``; nothing here decides a state or a number of replicas
(the engine's serving controller does, by the rules in ``domain/``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, and_, func, or_, select
from sqlalchemy.orm import Session

from headwater.db.serving_tables import (
    EndpointKeyRow,
    EndpointReplicaRow,
    EndpointRequestRow,
    EndpointRow,
    EndpointTrafficRow,
    EndpointVersionRow,
)
from headwater.db.tables import FlowRunRow
from headwater.domain.endpoint_records import (
    Endpoint,
    EndpointVersion,
    LoggedRequest,
    Replica,
    TrafficBucket,
)
from headwater.domain.endpoints import TITLE_MAX, slug_for
from headwater.domain.errors import NotFound
from headwater.domain.ids import new_id


def _endpoint(row: EndpointRow, flow_run_number: int | None) -> Endpoint:
    return Endpoint(
        id=row.id,
        project_id=row.project_id,
        title=row.title,
        slug=row.slug,
        status=row.status,
        definition=dict(row.definition),
        flow_run_id=row.flow_run_id,
        flow_run_number=flow_run_number,
        min_replicas=row.min_replicas,
        max_replicas=row.max_replicas,
        replicas_wanted=row.replicas_wanted,
        desired=row.desired,
        key_prefix=row.key_prefix,
        options=dict(row.options),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        scaled_at=row.scaled_at,
    )


def _version(row: EndpointVersionRow) -> EndpointVersion:
    return EndpointVersion(
        id=row.id,
        endpoint_id=row.endpoint_id,
        number=row.number,
        state=row.state,
        traffic=row.traffic,
        definition=dict(row.definition),
        source=dict(row.source),
        flow_run_id=row.flow_run_id,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
        stepped_at=row.stepped_at,
        ended_at=row.ended_at,
    )


def _replica(row: EndpointReplicaRow) -> Replica:
    return Replica(
        id=row.id,
        endpoint_id=row.endpoint_id,
        version_id=row.version_id,
        experiment_id=row.experiment_id,
        state=row.state,
        address=row.address,
        created_at=row.created_at,
        ready_at=row.ready_at,
        ended_at=row.ended_at,
    )


def _logged(row: EndpointRequestRow) -> LoggedRequest:
    return LoggedRequest(
        id=row.id,
        endpoint_id=row.endpoint_id,
        version_id=row.version_id,
        request_id=row.request_id,
        at=row.at,
        latency_ms=row.latency_ms,
        status=row.status,
        input=row.input,
        output=row.output,
    )


class NewRequest(NamedTuple):
    """A sampled request, as the gateway hands it over to be stored (a tuple: the gateway
    builds thousands a second, and its fields are the INSERT's parameters in order)."""

    endpoint_id: str
    version_id: str | None
    request_id: str
    at: datetime
    latency_ms: float
    status: int
    input: str
    output: str


_REQUEST_AT = cast(Table, EndpointRequestRow.__table__).c.at.type
_INSERT_REQUESTS = (
    f"INSERT INTO {EndpointRequestRow.__tablename__} ({', '.join(NewRequest._fields)}) "
    "VALUES ({marks})"
)


def _same(value: Any) -> Any:
    return value


class EndpointRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    # -- endpoints -------------------------------------------------------------------------

    def define(
        self,
        project_id: str,
        title: str,
        definition: dict[str, Any],
        *,
        flow_run_id: str | None,
        created_by: str | None,
        min_replicas: int,
        max_replicas: int,
    ) -> tuple[Endpoint, bool]:
        """Record an endpoint, or its new definition; True when it is new. A new endpoint gets
        a server-wide slug from its title."""
        now = datetime.now(UTC)
        row = self._row_by_title(project_id, title)
        new = row is None
        if row is None:
            row = EndpointRow(
                id=new_id(),
                project_id=project_id,
                title=title,
                slug=self._free_slug(title),
                status="defined",
                definition=definition,
                flow_run_id=flow_run_id,
                min_replicas=min_replicas,
                max_replicas=max_replicas,
                replicas_wanted=min_replicas,
                desired="running",
                options={},
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
            self.s.add(row)
        else:
            row.definition = definition
            row.flow_run_id = flow_run_id
            row.min_replicas, row.max_replicas = min_replicas, max_replicas
            row.replicas_wanted = min(max(row.replicas_wanted, min_replicas), max_replicas)
            row.updated_at = now
        self.s.flush()
        return self.get(project_id, row.id), new

    def _row_by_title(self, project_id: str, title: str) -> EndpointRow | None:
        return self.s.scalar(
            select(EndpointRow).where(
                EndpointRow.project_id == project_id, EndpointRow.title == title
            )
        )

    def _free_slug(self, title: str) -> str:
        """The title as a URL name (``domain.endpoints.slug_for``: suffixed when another
        project's endpoint has it); characters a URL path would not keep become hyphens."""
        base = re.sub(r"[^a-z0-9-]+", "-", title.lower()).strip("-")[:TITLE_MAX] or "endpoint"
        taken = set(
            self.s.scalars(
                select(EndpointRow.slug).where(
                    or_(EndpointRow.slug == base, EndpointRow.slug.like(f"{base}-%"))
                )
            )
        )
        return slug_for(base, taken.__contains__)

    def get(self, project_id: str, ref: str) -> Endpoint:
        """An endpoint of the project by id or title."""
        found = self.s.execute(
            select(EndpointRow, FlowRunRow.number)
            .outerjoin(FlowRunRow, FlowRunRow.id == EndpointRow.flow_run_id)
            .where(
                EndpointRow.project_id == project_id,
                or_(EndpointRow.id == ref, EndpointRow.title == ref),
            )
        ).first()
        if found is None:
            raise NotFound(
                f"this project has no endpoint {ref!r}",
                where="endpoint",
                hint="`hw endpoint list` shows the project's endpoints.",
            )
        return _endpoint(found[0], found[1])

    def by_slug(self, slug: str) -> Endpoint | None:
        """The endpoint serving at ``slug``, whichever project holds it."""
        row = self.s.scalar(select(EndpointRow).where(EndpointRow.slug == slug))
        return _endpoint(row, None) if row is not None else None

    def page(
        self,
        project_id: str,
        *,
        offset: int,
        limit: int,
        statuses: Collection[str] = (),
    ) -> tuple[list[Endpoint], int]:
        """One page of the project's endpoints by title (only those in ``statuses`` when
        given), and how many there are."""
        where = EndpointRow.project_id == project_id
        if statuses:
            where = and_(where, EndpointRow.status.in_(list(statuses)))
        total = self.s.scalar(select(func.count()).select_from(EndpointRow).where(where))
        rows = self.s.execute(
            select(EndpointRow, FlowRunRow.number)
            .outerjoin(FlowRunRow, FlowRunRow.id == EndpointRow.flow_run_id)
            .where(where)
            .order_by(EndpointRow.title)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_endpoint(r, number) for r, number in rows], total or 0

    def all_live(self) -> list[Endpoint]:
        """Every endpoint that should be serving, or still has replicas to stop: the
        controller's work list."""
        rows = self.s.scalars(
            select(EndpointRow).where(
                or_(
                    EndpointRow.desired == "running",
                    EndpointRow.id.in_(
                        select(EndpointReplicaRow.endpoint_id).where(
                            EndpointReplicaRow.state != "gone"
                        )
                    ),
                )
            )
        )
        return [_endpoint(r, None) for r in rows]

    def update(self, endpoint_id: str, **changes: Any) -> None:
        """Set columns of the endpoint (status, desired, min/max/wanted replicas, options, key
        hash and prefix, scaled_at); ``updated_at`` follows."""
        row = self._row(endpoint_id)
        for name, value in changes.items():
            if not hasattr(EndpointRow, name):
                raise AttributeError(name)
            setattr(row, name, value)
        row.updated_at = datetime.now(UTC)

    def delete(self, endpoint_id: str) -> None:
        self.s.delete(self._row(endpoint_id))

    def lock(self, endpoint_id: str) -> None:
        """Lock the endpoint's row for the rest of the transaction. Every change to its
        versions or replicas takes this lock first, so writers meet in one order: a delete
        (the endpoint row, then its rows by cascade) and a controller pass (replicas, then the
        endpoint's status) deadlocked on PostgreSQL when each took them its own way round.
        ``FOR NO KEY UPDATE`` leaves the gateway free to add traffic rows meanwhile."""
        found = self.s.scalar(
            select(EndpointRow.id)
            .where(EndpointRow.id == endpoint_id)
            .with_for_update(key_share=True)
        )
        if found is None:
            raise NotFound(
                f"no endpoint {endpoint_id!r}",
                where="endpoint",
                hint="It was deleted meanwhile; `hw endpoint list` shows what is there.",
            )

    def key_hash(self, endpoint_id: str) -> str | None:
        """The endpoint's own key, hashed (never part of the ``Endpoint`` record)."""
        return self._row(endpoint_id).key_hash

    def _row(self, endpoint_id: str) -> EndpointRow:
        row = self.s.get(EndpointRow, endpoint_id)
        if row is None:
            raise NotFound(
                f"no endpoint {endpoint_id!r}",
                where="endpoint",
                hint="It may have been deleted; `hw endpoint list` shows what is there.",
            )
        return row

    # -- the project's single deploy key -----------------------------------------------------

    def project_key(self, project_id: str) -> tuple[str, str] | None:
        """The project's single key as (hash, prefix), when it has one."""
        row = self.s.get(EndpointKeyRow, project_id)
        return (row.key_hash, row.key_prefix) if row is not None else None

    def set_project_key(self, project_id: str, key_hash: str, key_prefix: str) -> None:
        row = self.s.get(EndpointKeyRow, project_id)
        if row is None:
            self.s.add(
                EndpointKeyRow(
                    project_id=project_id,
                    key_hash=key_hash,
                    key_prefix=key_prefix,
                    created_at=datetime.now(UTC),
                )
            )
        else:
            row.key_hash, row.key_prefix = key_hash, key_prefix
            row.created_at = datetime.now(UTC)

    # -- versions ------------------------------------------------------------------------------

    def add_version(
        self,
        endpoint_id: str,
        *,
        definition: dict[str, Any],
        source: dict[str, Any],
        flow_run_id: str | None,
        created_by: str | None,
    ) -> EndpointVersion:
        """A new version (numbered after the last), pending, with no traffic yet: the
        controller starts its replicas and moves traffic to it."""
        self.lock(endpoint_id)
        last = self.s.scalar(
            select(func.max(EndpointVersionRow.number)).where(
                EndpointVersionRow.endpoint_id == endpoint_id
            )
        )
        row = EndpointVersionRow(
            id=new_id(),
            endpoint_id=endpoint_id,
            number=(last or 0) + 1,
            state="pending",
            traffic=0,
            definition=definition,
            source=source,
            flow_run_id=flow_run_id,
            created_by=created_by,
            created_at=datetime.now(UTC),
        )
        self.s.add(row)
        self.s.flush()
        return _version(row)

    def versions(self, endpoint_id: str) -> list[EndpointVersion]:
        """The endpoint's versions, newest first."""
        rows = self.s.scalars(
            select(EndpointVersionRow)
            .where(EndpointVersionRow.endpoint_id == endpoint_id)
            .order_by(EndpointVersionRow.number.desc())
        )
        return [_version(r) for r in rows]

    def update_version(self, version_id: str, **changes: Any) -> None:
        """Set columns of a version (state, traffic, reason, stepped_at, ended_at)."""
        row = self.s.get(EndpointVersionRow, version_id)
        if row is None:
            raise NotFound(f"no endpoint version {version_id!r}", where="version")
        self.lock(row.endpoint_id)
        for name, value in changes.items():
            if not hasattr(EndpointVersionRow, name):
                raise AttributeError(name)
            setattr(row, name, value)

    # -- replicas ------------------------------------------------------------------------------

    def add_replica(self, endpoint_id: str, version_id: str, experiment_id: str) -> Replica:
        self.lock(endpoint_id)
        row = EndpointReplicaRow(
            id=new_id(),
            endpoint_id=endpoint_id,
            version_id=version_id,
            experiment_id=experiment_id,
            state="starting",
            created_at=datetime.now(UTC),
        )
        self.s.add(row)
        self.s.flush()
        return _replica(row)

    def replicas(self, endpoint_id: str, *, live_only: bool = True) -> list[Replica]:
        """The endpoint's replicas (those not gone, unless ``live_only`` is False), oldest
        first."""
        query = select(EndpointReplicaRow).where(EndpointReplicaRow.endpoint_id == endpoint_id)
        if live_only:
            query = query.where(EndpointReplicaRow.state != "gone")
        return [_replica(r) for r in self.s.scalars(query.order_by(EndpointReplicaRow.created_at))]

    def replica_of_task(self, experiment_id: str) -> Replica | None:
        row = self.s.scalar(
            select(EndpointReplicaRow).where(EndpointReplicaRow.experiment_id == experiment_id)
        )
        return _replica(row) if row is not None else None

    def update_replica(self, replica_id: str, **changes: Any) -> None:
        """Set columns of a replica (state, address, ready_at, ended_at)."""
        row = self.s.get(EndpointReplicaRow, replica_id)
        if row is None:
            raise NotFound(f"no replica {replica_id!r}", where="replica")
        self.lock(row.endpoint_id)
        for name, value in changes.items():
            if not hasattr(EndpointReplicaRow, name):
                raise AttributeError(name)
            setattr(row, name, value)

    # -- the request log -----------------------------------------------------------------------

    def log_requests(self, requests: Iterable[NewRequest]) -> None:
        """One DB-API ``executemany`` of many rows on the session's connection (inside its
        transaction): SQLAlchemy's per-row parameter processing cost 9-13 us of the gateway
        process' CPU per logged request, with the GIL held (benchmarks/README, serving.py);
        only ``at`` needs its column type's conversion, done here once per row."""
        conn = self.s.connection()
        dialect = conn.dialect
        at_bind = _REQUEST_AT.dialect_impl(dialect).bind_processor(dialect)
        at: Callable[[Any], Any] = at_bind or _same
        params = [
            (
                r.endpoint_id,
                r.version_id,
                r.request_id,
                at(r.at),
                r.latency_ms,
                r.status,
                r.input,
                r.output,
            )
            for r in requests
        ]
        if not params:
            return
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = _INSERT_REQUESTS.format(marks=", ".join([mark] * len(NewRequest._fields)))
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(sql, params)
        finally:
            cursor.close()

    def requests(
        self, endpoint_id: str, *, offset: int, limit: int
    ) -> tuple[list[LoggedRequest], int]:
        """One page of the sampled requests, newest first, and how many there are."""
        where = EndpointRequestRow.endpoint_id == endpoint_id
        total = self.s.scalar(select(func.count()).select_from(EndpointRequestRow).where(where))
        rows = self.s.scalars(
            select(EndpointRequestRow)
            .where(where)
            .order_by(EndpointRequestRow.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_logged(r) for r in rows], total or 0

    def logged_request(self, endpoint_id: str, request_id: int) -> LoggedRequest:
        """One sampled request of the endpoint, by its number in the log (for a replay)."""
        row = self.s.get(EndpointRequestRow, request_id)
        if row is None or row.endpoint_id != endpoint_id:
            raise NotFound(
                f"this endpoint's request log has no request {request_id}",
                where="request",
                hint="`hw endpoint logs SLUG --requests` lists the logged requests.",
            )
        return _logged(row)

    # -- traffic buckets -----------------------------------------------------------------------

    def add_traffic(self, source: str, buckets: Iterable[TrafficBucket]) -> None:
        """Store what this server process (``source``) counted; a bucket it wrote before is
        replaced (the gateway writes a bucket again while it is still filling)."""
        for b in buckets:
            row = self.s.scalar(
                select(EndpointTrafficRow).where(
                    EndpointTrafficRow.endpoint_id == b.endpoint_id,
                    EndpointTrafficRow.version_id == b.version_id,
                    EndpointTrafficRow.bucket == b.bucket,
                    EndpointTrafficRow.source == source,
                )
            )
            if row is None:
                row = EndpointTrafficRow(
                    endpoint_id=b.endpoint_id,
                    version_id=b.version_id,
                    bucket=b.bucket,
                    source=source,
                )
                self.s.add(row)
            row.requests, row.errors = b.requests, b.errors
            row.inflight_peak, row.latency = b.inflight_peak, list(b.latency)

    def traffic(self, endpoint_id: str, since: datetime) -> list[TrafficBucket]:
        """The endpoint's buckets from ``since`` on, oldest first, one per (version, bucket)
        with the server processes' counts added up (histograms added bucket by bucket)."""
        rows = self.s.scalars(
            select(EndpointTrafficRow)
            .where(
                EndpointTrafficRow.endpoint_id == endpoint_id, EndpointTrafficRow.bucket >= since
            )
            .order_by(EndpointTrafficRow.bucket)
        )
        merged: dict[tuple[str, datetime], TrafficBucket] = {}
        for r in rows:
            key = (r.version_id, r.bucket)
            seen = merged.get(key)
            if seen is None:
                merged[key] = TrafficBucket(
                    endpoint_id=r.endpoint_id,
                    version_id=r.version_id,
                    bucket=r.bucket,
                    requests=r.requests,
                    errors=r.errors,
                    inflight_peak=r.inflight_peak,
                    latency=list(r.latency),
                )
                continue
            width = max(len(seen.latency), len(r.latency))
            a, b = seen.latency + [0] * width, list(r.latency) + [0] * width
            merged[key] = TrafficBucket(
                endpoint_id=seen.endpoint_id,
                version_id=seen.version_id,
                bucket=seen.bucket,
                requests=seen.requests + r.requests,
                errors=seen.errors + r.errors,
                inflight_peak=seen.inflight_peak + r.inflight_peak,
                latency=[x + y for x, y in zip(a[:width], b[:width], strict=True)],
            )
        return sorted(merged.values(), key=lambda t: (t.bucket, t.version_id))

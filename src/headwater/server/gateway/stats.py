"""What the gateway counts and samples, kept in memory and written by a background thread.

Per (endpoint, version) and 5-second bucket: requests, 5xx answers, a latency histogram
(``domain/latency.py``) and the peak of requests in flight. A bucket exists when a request
started or ended in it, or was in flight when the thread flushed: one never written was quiet,
which the autoscaler relies on (``domain/autoscale.with_quiet_buckets``). The hot path only
adds to these under a lock; a thread writes the buckets that changed
(``EndpointRepo.add_traffic``, which replaces a bucket this process wrote before, so a bucket
still filling is written again) and the sampled requests (``EndpointRepo.log_requests``) every
``flush_seconds``. The database never sits on the hot path, and a slow database only delays
the writes: what waits is bounded (``MAX_PENDING_LOG_BYTES``), past that samples are dropped
and counted.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter, Histogram

from headwater.db.database import Database
from headwater.db.repos.endpoints import EndpointRepo, NewRequest
from headwater.domain.autoscale import BUCKET_SECONDS as BUCKET_SECONDS  # the routes read it here
from headwater.domain.endpoint_records import TrafficBucket
from headwater.domain.latency import LatencyHistogram
from headwater.domain.sampling import truncate

MAX_PENDING_LOG_BYTES = 32 << 20
IDLE_FLUSHES = 60  # flushes with nothing to write before the thread ends
KEEP_BUCKETS = 3  # a bucket this old is final: written once more, then forgotten
log = logging.getLogger("headwater.gateway")


@dataclass
class _Bucket:
    requests: int = 0
    errors: int = 0
    inflight_peak: int = 0
    histogram: LatencyHistogram | None = None
    dirty: bool = True


class _Sample(NamedTuple):  # a tuple: one per request on the hot path, cheaper than a dataclass
    endpoint_id: str
    version_id: str | None
    request_id: str
    at: float  # seconds since the epoch
    latency_ms: float
    status: int
    input: bytes
    output: bytes


def bucket_start(epoch: float) -> datetime:
    """The start of the 5-second bucket a moment (seconds since the epoch) falls in."""
    return datetime.fromtimestamp(int(epoch) // BUCKET_SECONDS * BUCKET_SECONDS, UTC)


class GatewayMetrics:
    """Prometheus series per endpoint and version, on the server's ``/metrics``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "headwater_endpoint_requests_total",
            "Predictions answered, by endpoint, version and status",
            ["endpoint", "version", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "headwater_endpoint_request_seconds",
            "Time to answer a prediction through the gateway",
            ["endpoint", "version"],
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.dropped = Counter(
            "headwater_endpoint_request_log_dropped_total",
            "Sampled requests not logged because the database fell behind",
            registry=registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, slug: str, version: str, status: int, seconds: float) -> None:
        key = (slug, version, status)
        children = self._children.get(key)
        if children is None:
            if len(self._children) > 10_000:
                self._children.clear()
            children = (
                self.requests.labels(slug, version, str(status)),
                self.latency.labels(slug, version),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


def _logged(body: bytes, limit: int) -> str:
    text = body.decode(errors="replace")
    return text if len(body) <= limit else truncate(text, limit)


class GatewayStats:
    """Traffic buckets and the request-log queue, with the thread that writes them."""

    def __init__(
        self, db: Database, *, source: str, logged_bytes: int, flush_seconds: float = 1.0
    ) -> None:
        self.db = db
        self.source = source
        self.logged_bytes = logged_bytes
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        # (endpoint id, version id, bucket number: seconds since the epoch // BUCKET_SECONDS)
        self._buckets: dict[tuple[str, str, int], _Bucket] = {}
        self._in_flight: dict[tuple[str, str], int] = {}
        self._samples: list[_Sample] = []
        self._pending_bytes = 0
        self.dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the hot path ---------------------------------------------------------------------------

    def started(self, endpoint_id: str, version_id: str, now: float) -> None:
        """A request went to a version: counts toward its in-flight peak."""
        key = (endpoint_id, version_id)
        with self._lock:
            current = self._in_flight.get(key, 0) + 1
            self._in_flight[key] = current
            bucket = self._bucket(endpoint_id, version_id, now)
            bucket.inflight_peak = max(bucket.inflight_peak, current)
        self._ensure_thread()

    def left(self, endpoint_id: str, version_id: str) -> None:
        """A request that never reached the replica: no longer in flight, not counted."""
        key = (endpoint_id, version_id)
        with self._lock:
            self._in_flight[key] = self._in_flight.get(key, 1) - 1

    def finished(
        self, endpoint_id: str, version_id: str, now: float, latency_ms: float, status: int
    ) -> None:
        key = (endpoint_id, version_id)
        with self._lock:
            self._in_flight[key] = self._in_flight.get(key, 1) - 1
            bucket = self._bucket(endpoint_id, version_id, now)
            bucket.requests += 1
            if status >= 500:
                bucket.errors += 1
            if bucket.histogram is None:
                bucket.histogram = LatencyHistogram()
            bucket.histogram.record(latency_ms)

    def _bucket(self, endpoint_id: str, version_id: str, now: float) -> _Bucket:
        key = (endpoint_id, version_id, int(now) // BUCKET_SECONDS)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(
                inflight_peak=self._in_flight.get((endpoint_id, version_id), 0)
            )
        bucket.dirty = True
        return bucket

    def sample(
        self,
        *,
        endpoint_id: str,
        version_id: str | None,
        request_id: str,
        now: float,
        latency_ms: float,
        status: int,
        input: bytes,
        output: bytes,
    ) -> bool:
        """Queue a request for the log (bodies kept as they are: truncated when written);
        False when the queue is full and it was dropped."""
        size = len(input) + len(output)
        with self._lock:
            if self._pending_bytes + size > MAX_PENDING_LOG_BYTES:
                self.dropped += 1
                return False
            self._pending_bytes += size
            self._samples.append(
                _Sample(
                    endpoint_id=endpoint_id,
                    version_id=version_id,
                    request_id=request_id,
                    at=now,
                    latency_ms=latency_ms,
                    status=status,
                    input=input,
                    output=output,
                )
            )
        self._ensure_thread()
        return True

    # -- the writer thread ----------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._stop.is_set():
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="hw-gateway-stats", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        idle = 0
        while not self._stop.wait(self.flush_seconds):
            try:
                idle = 0 if self.flush() else idle + 1
            except Exception:  # the database is away: keep counting, write later
                log.exception("could not write the gateway's traffic and request log")
            if idle >= IDLE_FLUSHES:  # no traffic: the next request starts a thread again
                with self._lock:
                    self._thread = None
                return

    def flush(self, now: datetime | None = None) -> bool:
        """Write what changed since the last flush (the thread calls it, and ``close``);
        whether there was anything."""
        traffic, samples = self._take(now or datetime.now(UTC))
        if not traffic and not samples:
            return False
        limit = self.logged_bytes
        rows = [
            NewRequest(
                endpoint_id=s.endpoint_id,
                version_id=s.version_id,
                request_id=s.request_id,
                at=datetime.fromtimestamp(s.at, UTC),
                latency_ms=s.latency_ms,
                status=s.status,
                input=_logged(s.input, limit),
                output=_logged(s.output, limit),
            )
            for s in samples
        ]
        with self.db.write() as session:
            repo = EndpointRepo(session)
            if traffic:
                repo.add_traffic(self.source, traffic)
            if rows:
                repo.log_requests(rows)
        return True

    def _take(self, now: datetime) -> tuple[list[TrafficBucket], list[_Sample]]:
        """The buckets to write (and forget the final ones) and the queued samples."""
        oldest = int(now.timestamp()) // BUCKET_SECONDS - KEEP_BUCKETS
        traffic: list[TrafficBucket] = []
        with self._lock:
            self._mark_long_requests(now.timestamp())
            for key, bucket in list(self._buckets.items()):
                endpoint_id, version_id, number = key
                if bucket.dirty:
                    bucket.dirty = False
                    histogram = bucket.histogram or LatencyHistogram()
                    traffic.append(
                        TrafficBucket(
                            endpoint_id=endpoint_id,
                            version_id=version_id,
                            bucket=bucket_start(number * BUCKET_SECONDS),
                            requests=bucket.requests,
                            errors=bucket.errors,
                            inflight_peak=bucket.inflight_peak,
                            latency=histogram.to_list(),
                        )
                    )
                if number < oldest:
                    del self._buckets[key]
            samples, self._samples = self._samples, []
            self._pending_bytes = 0
        return traffic, samples

    def _mark_long_requests(self, now: float) -> None:
        """A request in flight through a whole bucket starts and ends in none: the bucket is
        made here, with its peak, so that a bucket missing from the database means a quiet
        one (what the autoscaler reads it as)."""
        number = int(now) // BUCKET_SECONDS
        for (endpoint_id, version_id), count in self._in_flight.items():
            if count > 0 and (endpoint_id, version_id, number) not in self._buckets:
                self._bucket(endpoint_id, version_id, now)

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=10)
        try:
            self.flush()
        except Exception:
            log.exception("could not write the gateway's last traffic and request log")

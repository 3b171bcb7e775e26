"""The gateway's parts that need no server: which paths it claims, the body check, the
headers it reads, and the routing table's cache (one load per period, shared by concurrent
requests; ``invalidate`` drops an entry at once; what the process learned survives a reload).
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import cast

import pytest

from headwater.db.database import Database
from headwater.domain.endpoints import key_hash
from headwater.domain.sampling import ALL
from headwater.domain.traffic import VersionPicker
from headwater.server.gateway.hotpath import PARSE_LIMIT, _check_body, _read_headers, slug_of
from headwater.server.gateway.stats import GatewayStats, bucket_start
from headwater.server.gateway.table import EndpointRoute, RouteTable, Target
from tests.support.aio import run as run_async


@pytest.mark.parametrize(
    ("path", "slug"),
    [
        ("/api/v1/endpoints/churn/predict", "churn"),
        ("/e/churn-2/predict", "churn-2"),
        ("/api/v1/endpoints/churn/predict/", None),
        ("/api/v1/endpoints//predict", None),
        ("/api/v1/endpoints/a/b/predict", None),
        ("/api/v1/endpoints/churn", None),
        ("/api/v1/projects/p/endpoints/churn/predict", None),
        ("/e/predict", None),
    ],
)
def test_only_predict_paths_go_to_the_gateway(path: str, slug: str | None) -> None:
    assert slug_of(path) == slug


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"input_params": [1, 2]}', None),
        (b'{"input_params": null}', None),
        (b"{nope", 400),
        (b'["input_params"]', 400),
        (b'{"inputs": 1}', 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),  # too deep to parse: refused, not a crash
        (b'{"input_params": "' + b"x" * PARSE_LIMIT + b'"}', None),  # large: by shape
        (b'{"other": "' + b"x" * PARSE_LIMIT + b'"}', 400),
        (b"x" * (PARSE_LIMIT + 1), 400),
    ],
)
def test_the_body_check(body: bytes, status: int | None) -> None:
    answer = _check_body(body, "rid")
    assert (answer.status if answer else None) == status
    if answer is not None:
        assert b'"request_id":"rid"' in answer.body


def test_headers_give_the_key_either_way_and_a_sane_request_id() -> None:
    assert _read_headers([(b"authorization", b"Bearer k1"), (b"x-request-id", b"abc")]) == (
        "abc",
        "k1",
        None,
    )
    rid, key, length = _read_headers([(b"cnvrg-api-key", b"k2"), (b"content-length", b"12")])
    assert (key, length, len(rid)) == ("k2", 12, 32)
    rid, key, _ = _read_headers([(b"authorization", b"Basic k3"), (b"x-request-id", b"a b\n")])
    assert key is None
    assert rid != "a b\n"
    assert len(rid) == 32


def route(loaded: int, split: dict[str, int] | None = None) -> EndpointRoute:
    split = split or {"v1": 100}
    made = EndpointRoute(
        endpoint_id="e1",
        project_id="p1",
        slug="churn",
        serving=True,
        key_hashes=(key_hash("hwe_right"),),
        sample=ALL,
        split=split,
        numbers={"v1": 1, "v2": 2},
        targets={"r1": Target("r1", "v1", "/s1"), "r2": Target("r2", "v1", "/s2")},
        loaded_at=loaded,
    )
    made.picker = VersionPicker(split)
    return made


def test_keys_are_checked_against_every_stored_hash() -> None:
    r = route(0)
    assert r.accepts("hwe_right")
    assert not r.accepts("hwe_wrong")


def test_a_replica_seen_dead_is_skipped_for_a_while_then_tried_again() -> None:
    r = route(0)
    r.dead["r1"] = 100.0
    assert {r.choose(101.0, 10.0).replica_id for _ in range(4)} == {"r2"}  # type: ignore[union-attr]
    assert {r.choose(111.0, 10.0).replica_id for _ in range(4)} == {"r1", "r2"}  # type: ignore[union-attr]
    r.dead["r2"] = 100.0
    assert r.choose(101.0, 0.5) is not None
    r.dead["r1"] = r.dead["r2"] = 101.0
    assert r.choose(101.0, 10.0) is None


class CountingLoader:
    def __init__(self) -> None:
        self.calls = 0
        self.gate = threading.Event()
        self.version = 0

    def __call__(self, slug: str) -> EndpointRoute | None:
        self.calls += 1
        self.gate.wait(5)
        return route(self.version) if slug == "churn" else None


def test_the_table_loads_a_slug_once_per_period_and_invalidate_drops_it() -> None:
    loader = CountingLoader()
    table = RouteTable(loader, ttl=60)

    async def scenario() -> None:
        waiting = [asyncio.create_task(table.get("churn")) for _ in range(20)]
        await asyncio.sleep(0.05)
        loader.gate.set()
        first = await asyncio.gather(*waiting)
        assert loader.calls == 1  # twenty concurrent requests, one read
        assert all(r is first[0] for r in first)
        first[0].in_flight["r1"] = 3
        first[0].dead["r2"] = 1.0
        first[0].counter = 41
        assert await table.get("churn") is first[0]
        assert loader.calls == 1
        assert await table.get("nope") is None
        assert await table.get("nope") is None
        assert loader.calls == 2  # an unknown slug is cached too
        table.invalidate("churn")  # a key rotation: the next request reads the database
        fresh = await table.get("churn")
        assert loader.calls == 3
        assert fresh is not first[0]
        assert fresh.in_flight == {"r1": 3}  # what this process knows carries over
        assert fresh.dead == {"r2": 1.0}
        assert fresh.counter == 41
        assert fresh.picker is first[0].picker  # same split: same place in the round

    run_async(scenario())


def test_a_request_in_flight_through_a_whole_bucket_still_writes_that_bucket() -> None:
    """The autoscaler reads a bucket never written as a quiet one: a request that neither
    starts nor ends in a bucket must still show there, with its peak."""
    stats = GatewayStats(cast(Database, None), source="test", logged_bytes=64)
    stats._stop.set()  # no writer thread: the test takes the buckets itself

    def take(at: float) -> list[tuple[datetime, int]]:
        traffic, _ = stats._take(datetime.fromtimestamp(at, UTC))
        return [(b.bucket, b.inflight_peak) for b in traffic]

    t0 = 1_000_000_000.0  # a bucket starts here
    stats.started("e", "v", t0 + 1)
    assert take(t0 + 2) == [(bucket_start(t0), 1)]
    assert take(t0 + 12) == [(bucket_start(t0 + 10), 1)]  # nothing started nor ended in it
    stats.finished("e", "v", t0 + 13, latency_ms=12_000, status=200)
    assert take(t0 + 14) == [(bucket_start(t0 + 10), 1)]
    assert take(t0 + 17) == []  # nothing in flight any more: a quiet bucket stays unwritten

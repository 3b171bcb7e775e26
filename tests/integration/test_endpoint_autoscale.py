"""Issue 13's "scale 1 -> 3 -> 1 under a load generator", end to end: a real ``hw server``
with its local worker (replicas are sandboxed tasks), a function that takes 50 ms, twelve
clients calling the public predict route with the endpoint's key, and nothing but the
autoscaler reading the gateway's own traffic buckets to size the endpoint.

The policy is short (target 4 in flight per replica, 1 s above it to scale up, 3 s below it to
scale down, 1 s cooldown) so the whole cycle fits in well under a minute once the replicas'
sandboxes start; test_endpoints.py feeds synthetic buckets, this one lets real traffic speak.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.test_endpoints import Site, opened_site
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

SLOW = """\
import time


def predict(x):
    time.sleep(0.05)
    return x
"""

POLICY = {
    "HEADWATER_SERVING_AUTOSCALE_TARGET": "4",
    "HEADWATER_SERVING_AUTOSCALE_UP_AFTER": "1",
    "HEADWATER_SERVING_AUTOSCALE_DOWN_AFTER": "3",
    "HEADWATER_SERVING_AUTOSCALE_COOLDOWN": "1",
}
CLIENTS = 12  # 12 in flight at 4 per replica: 3 replicas
WAIT = 60.0


@pytest.fixture
def site(tmp_path: Any) -> Iterator[Site]:
    with opened_site(tmp_path, "load", {"predict.py": SLOW}, **POLICY) as built:
        yield built


class LoadGenerator:
    """``clients`` threads, each posting predictions with the key in a loop until stopped;
    every answer's status, with the body of those that failed."""

    def __init__(self, url: str, slug: str, key: str, clients: int) -> None:
        self.url, self.slug, self.key = url, slug, key
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def _client(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while not self._stop.is_set():
                got = http.post(
                    f"/api/v1/endpoints/{self.slug}/predict",
                    json={"input_params": 7},
                    headers=headers,
                )
                with self._lock:
                    self.statuses[got.status_code] += 1
                    if got.status_code != 200 or got.json() != {"prediction": 7}:
                        self.failures.append(f"{got.status_code} {got.text[:200]}")

    def __enter__(self) -> LoadGenerator:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def _serving(shown: dict[str, Any], replicas: int) -> dict[str, Any] | None:
    """``shown`` when the endpoint runs exactly ``replicas`` replicas, all ready, as the
    autoscaler wants; else None."""
    states = [r["state"] for r in shown["replicas"] if r["state"] != "gone"]
    if (
        shown["status"] == "running"
        and shown["replicas_wanted"] == replicas
        and states == ["ready"] * replicas
    ):
        return shown
    return None


def test_twelve_clients_scale_an_endpoint_1_to_3_and_the_quiet_after_brings_it_back_to_1(
    site: Site,
) -> None:
    began = time.monotonic()
    made = site.deploy("slow", computes=["tiny"], min_replica=1, max_replica=3)
    slug, key = made["endpoint"]["slug"], site.keys["slow"]
    site.running("slow")
    with LoadGenerator(site.server.url, slug, key, CLIENTS) as load:
        # the status follows the replicas at the controller's next tick ("degraded" while
        # the added ones start)
        up = wait_until(
            lambda: _serving(site.show("slow"), 3),
            timeout=WAIT,
            message=lambda: f"{load.statuses}\n{site.explain('slow')}",
        )
        scaled_up = time.monotonic()
        # the three replicas share the load: wait for a round of answers after the third came
        seen = sum(load.statuses.values())
        wait_until(lambda: sum(load.statuses.values()) > seen + 3 * CLIENTS)
    assert up["replicas_wanted"] == 3
    assert not load.failures, load.failures[:5]  # scaling up fails no request
    assert load.statuses[200] > 100, load.statuses

    # the two extra replicas drained and their tasks ended: none is left "stopping"
    down = wait_until(
        lambda: _serving(site.show("slow"), 1), timeout=WAIT, message=lambda: site.explain("slow")
    )
    assert down["replicas_wanted"] == 1
    answer = site.predict(slug, 7, key)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"prediction": 7}
    print(
        f"up to 3 ready in {scaled_up - began:.1f} s from deploy, back to 1 in "
        f"{time.monotonic() - scaled_up:.1f} s; answers: {dict(load.statuses)}"
    )

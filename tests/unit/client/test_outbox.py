"""The SDK's metric delivery against a fake server (``httpx.MockTransport``): retries on
transport failures and 429/5xx with the same batch id, no retry on a 4xx, the spool past the
memory bound in logging order, and ``close()`` keeping and naming what it could not send."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

import headwater.client.tracking as tracking
from headwater.client import Client
from headwater.client.outbox import Backoff, Outbox
from headwater.client.tracking import Experiment
from headwater.domain.access import AccessLevel
from headwater.domain.errors import InvalidInput
from headwater.schemas.projects import AccessOut, ProjectOut

PROJECT = ProjectOut(
    id="p1",
    name="p",
    description="",
    public=False,
    personal=True,
    owner="u",
    created_at=datetime.now(UTC),
    role="owner",
    access=AccessOut(
        files=AccessLevel.ALL,
        jobs=AccessLevel.ALL,
        datasets=AccessLevel.ALL,
        models=AccessLevel.ALL,
        manage=True,
    ),
)

Failure = Callable[[httpx.Request], httpx.Response | None]


class FakeServer:
    """Stores metric batches once per batch id, as the real one does; ``failures`` are tried
    in turn before each metric request is stored (None: store it)."""

    def __init__(self) -> None:
        self.stored: dict[str, list[list[object]]] = {}
        self.seen: list[str] = []  # batch ids, each time one arrives
        self.failures: list[Failure] = []
        self.lost_answers = 0  # stored, then the answer lost (a dropped connection)
        self.lock = threading.Lock()

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v1/projects/p1":
            return httpx.Response(200, content=PROJECT.model_dump_json())
        if path.endswith("/values"):
            return httpx.Response(204)
        assert path.endswith("/metrics"), path
        body = json.loads(request.content)
        with self.lock:
            self.seen.append(body["batch"])
            failure = self.failures.pop(0) if self.failures else None
        answer = failure(request) if failure else None
        if answer is not None:
            return answer
        with self.lock:
            self.stored.setdefault(body["batch"], body["points"])
            if self.lost_answers:
                self.lost_answers -= 1
                raise httpx.ReadError("connection reset after the server stored the batch")
        return httpx.Response(200, json={"stored": len(body["points"])})

    def points(self) -> list[list[object]]:
        return [p for batch in self.stored.values() for p in batch]


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def status(code: int) -> Failure:
    return lambda request: httpx.Response(code, text="busy")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    monkeypatch.setattr(tracking, "FLUSH_SECONDS", 0.01)
    monkeypatch.setattr(tracking, "Backoff", lambda: Backoff(first=0.001, cap=0.01))
    return FakeServer()


@pytest.fixture
def experiment(server: FakeServer, tmp_path: Path) -> Iterator[Experiment]:
    transport = httpx.MockTransport(server.handle)
    client = Client("http://hw.test", "t", "p1", config_dir=tmp_path, transport=transport)
    # a bound, never a wait: close() returns once all is stored; a busy CI machine needs room
    exp = Experiment("e1", project="p1", client=client, spool_dir=tmp_path, deadline=120)
    yield exp
    exp.close()
    client.close()


def test_failed_sends_are_retried_with_the_same_batch_until_stored_once(
    server: FakeServer, experiment: Experiment
) -> None:
    server.failures = [refused, status(503), status(502), status(504), status(429), refused]
    server.lost_answers = 2  # stored, answer lost: the resend must not count twice
    for i in range(1400):
        experiment.log_metric("loss", float(i), step=i)
    delivery = experiment.close()
    assert delivery.complete, delivery
    points = server.points()
    assert [p[1] for p in points] == list(range(1400))  # each step once, in order
    assert len(server.seen) > len(server.stored)  # retries happened, with the same id


def test_a_refusal_is_not_retried_and_flush_raises_it(
    server: FakeServer, experiment: Experiment, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"error": "invalid_input", "detail": "bad point", "where": "points[0]", "hint": None}
    server.failures = [lambda request: httpx.Response(400, json=body)]
    experiment.log_metric("loss", 1.0)
    with pytest.raises(InvalidInput, match="bad point"):
        experiment.flush()
    assert len(server.seen) == 1  # once: sending a refused batch again won't help
    delivery = experiment.close()
    assert delivery.refused == 1
    assert "1 metric points were refused by the server" in capsys.readouterr().err


def test_close_keeps_and_names_what_it_could_not_send(
    server: FakeServer, experiment: Experiment, capsys: pytest.CaptureFixture[str]
) -> None:
    server.failures = [refused] * 10_000  # away for good
    experiment.deadline = 0.3
    experiment.log_param("lr", 0.1)
    for i in range(12):
        experiment.log_metric("loss", float(i), step=i)
    delivery = experiment.close()
    assert delivery.undelivered == 12
    assert delivery.spool is not None
    kept = [json.loads(line) for line in delivery.spool.read_text().splitlines()]
    assert [p[1] for p in kept] == list(range(12))
    err = capsys.readouterr().err
    assert (
        f"headwater: 12 metric points could not be delivered after 0.3 s (cannot reach the "
        f"Headwater server (connection refused)); spooled at {delivery.spool}"
    ) in err
    assert server.stored == {}


def test_points_past_the_memory_bound_wait_in_the_spool_in_logging_order(tmp_path: Path) -> None:
    box = Outbox(tmp_path, memory=10, batch=7)
    for i in range(25):
        box.put(("k", i, float(i), 0.0))
    assert box.spool_path.exists()
    assert box.pending() == 25
    taken: list[int] = []
    while (batch := box.take()) is not None:
        assert box.take() is batch  # the same batch until done: a resend keeps its id
        taken += [int(p[1] or 0) for p in batch.points]
        box.done()
        if len(taken) == 14:  # new points while the spool is read back go after it
            box.put(("k", 25, 25.0, 0.0))
    assert taken == list(range(26))
    assert box.spool_path.stat().st_size == 0  # read back: emptied
    box.put(("k", 26, 26.0, 0.0))
    assert box.ready() == 1  # memory again
    box.close()
    assert not box.spool_path.exists()


def test_drain_keeps_the_batch_in_flight_memory_and_spool_in_order(tmp_path: Path) -> None:
    box = Outbox(tmp_path, memory=5, batch=3)
    for i in range(12):
        box.put(("k", i, float(i), 0.0))
    assert box.take() is not None  # in flight, then the server went away
    kept = tmp_path / "kept.jsonl"
    assert box.drain_to(kept) == 12
    assert [json.loads(line)[1] for line in kept.read_text().splitlines()] == list(range(12))
    assert box.pending() == 0


def test_backoff_doubles_to_a_cap_with_jitter() -> None:
    low = Backoff(first=0.2, cap=5.0, rng=lambda: 0.0)
    assert [low.next() for _ in range(7)] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.5, 2.5]
    high = Backoff(first=0.2, cap=5.0, rng=lambda: 1.0)
    assert [high.next() for _ in range(3)] == [0.2, 0.4, 0.8]
    high.reset()
    assert high.next() == 0.2


def test_a_point_that_cannot_travel_is_skipped_with_a_warning_and_the_sender_goes_on(
    server: FakeServer, experiment: Experiment, caplog: pytest.LogCaptureFixture
) -> None:
    experiment.log_metric("loss", float("inf"), step=0)  # JSON has no infinity
    experiment.log_metric("loss", 1.0, step=1)
    experiment.flush()  # the sender is alive: later points still arrive
    assert [p[1] for p in server.points()] == [1]
    assert "skipped the value inf" in caplog.text

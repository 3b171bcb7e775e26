"""``EndpointsClient`` against a fake server (httpx's MockTransport): which route and which
credentials a prediction uses, what a failed one raises, slugs as names, following logs, and
where a deploy stands."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

import headwater.client.endpoints as endpoints
from headwater.client.endpoints import EndpointsClient, deploy_progress, encode_files
from headwater.client.http import HttpClient, transient
from headwater.domain.errors import HeadwaterError, InvalidInput, NotFound
from headwater.schemas.endpoints import EndpointDetail

Handler = Callable[[httpx.Request], httpx.Response]
T0 = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def client(handler: Handler) -> EndpointsClient:
    http = HttpClient("http://hw.test", "user-token", transport=httpx.MockTransport(handler))
    scope = SimpleNamespace(id=lambda project=None: project or "p1")
    return EndpointsClient(http, scope)  # type: ignore[arg-type]


def test_a_key_calls_the_public_route_with_the_key_instead_of_the_login() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"prediction": 5}, headers={"X-Request-Id": "r1"})

    answer = client(handler).predict("iris", [2, 3], key="hwe_k")
    assert (answer.prediction, answer.request_id) == (5, "r1")
    [sent] = seen
    assert sent.url.path == "/api/v1/endpoints/iris/predict"
    assert sent.headers["authorization"] == "Bearer hwe_k"
    assert json.loads(sent.content) == {"input_params": [2, 3]}


def test_no_key_calls_the_projects_try_route_as_the_user() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"prediction": None})

    assert client(handler).predict("iris", {"a": 1}).prediction is None
    assert seen[0].url.path == "/api/v1/projects/p1/endpoints/iris/predict"
    assert seen[0].headers["authorization"] == "Bearer user-token"


def test_files_travel_as_base64_one_string_or_a_list(tmp_path: Path) -> None:
    one, two = tmp_path / "a.bin", tmp_path / "b.bin"
    one.write_bytes(b"\x00\xffabc")
    two.write_bytes(b"")
    assert encode_files(one) == base64.b64encode(b"\x00\xffabc").decode()
    assert encode_files([one, two]) == [encode_files(one), ""]
    with pytest.raises(InvalidInput) as missing:
        encode_files(tmp_path / "nope.png")
    assert missing.value.where == str(tmp_path / "nope.png")


def test_a_function_that_raised_names_the_request_and_where_its_traceback_is() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": "prediction_failed", "detail": "ValueError: no", "request_id": "r9"}
        return httpx.Response(500, json=body, headers={"X-Request-Id": "r9"})

    with pytest.raises(HeadwaterError) as failed:
        client(handler).predict("iris", 1, key="k")
    assert failed.value.detail == "ValueError: no (request r9)"
    assert failed.value.where == "endpoint iris"
    assert "hw endpoint logs iris" in (failed.value.hint or "")
    assert failed.value.__dict__["request_id"] == "r9"


def test_a_503_stays_a_retryable_error_with_the_gateways_hint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {
            "error": "unavailable",
            "detail": "no replica of this endpoint is ready to answer",
            "where": "endpoint",
            "hint": "try again in a few seconds.",
            "request_id": "r2",
        }
        return httpx.Response(503, json=body, headers={"X-Request-Id": "r2", "Retry-After": "2"})

    with pytest.raises(HeadwaterError) as failed:
        client(handler).predict("iris", 1, key="k")
    assert transient(failed.value)
    assert failed.value.hint == "try again in a few seconds."
    assert "(request r2)" in failed.value.detail


def test_a_url_slug_is_looked_up_when_no_title_matches() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/api/v1/projects/p1/endpoints":
            return httpx.Response(200, json=page([("e1", "Iris", "iris")]))
        if request.url.path == "/api/v1/projects/p1/endpoints/e1/stop":
            return httpx.Response(200, json=detail(id="e1", title="Iris", slug="iris"))
        return httpx.Response(404, json={"error": "not_found", "detail": "no endpoint 'iris'"})

    stopped = client(handler).stop("iris")
    assert stopped.title == "Iris"
    assert asked == [
        "/api/v1/projects/p1/endpoints/iris/stop",
        "/api/v1/projects/p1/endpoints",
        "/api/v1/projects/p1/endpoints/e1/stop",
    ]


def test_an_unknown_name_keeps_the_servers_not_found() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/endpoints"):
            return httpx.Response(200, json=page([("e1", "Iris", "iris")]))
        body = {"error": "not_found", "detail": "this project has no endpoint 'nope'"}
        return httpx.Response(404, json=body)

    with pytest.raises(NotFound, match="no endpoint 'nope'"):
        client(handler).show("nope")


def test_follow_neither_loses_nor_repeats_chunks_written_in_the_same_instant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server answers chunks strictly after ``since``; two chunks share T0+1s, and the
    second one only exists by the second ask."""
    monkeypatch.setattr(endpoints, "time", SimpleNamespace(sleep=lambda s: None))
    stored = [chunk(1, 0, T0), chunk(1, 1, T0 + timedelta(seconds=1))]
    late = [chunk(2, 0, T0 + timedelta(seconds=1)), chunk(1, 2, T0 + timedelta(seconds=2))]
    asks: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        since = request.url.params.get("since")
        asks.append(since)
        after = datetime.fromisoformat(since) if since else None
        rows = [c for c in stored if after is None or datetime.fromisoformat(c["at"]) > after]
        if len(asks) == 1:
            stored.extend(late)  # written after the first answer
        return httpx.Response(200, json={"chunks": rows, "next_since": None})

    got = client(handler).follow("iris")
    seen = [(c.experiment, c.seq) for c in (next(got) for _ in range(4))]
    assert seen == [(1, 0), (1, 1), (2, 0), (1, 2)]
    assert datetime.fromisoformat(str(asks[1])) < T0 + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("status", "version", "replicas", "done", "failed"),
    [
        ("deploying", ("live", None), [], False, None),
        ("running", ("canary", None), [(1, "ready")], False, None),  # only the old one serves
        ("running", ("canary", None), [(2, "ready")], True, None),
        ("running", ("rolled_back", "p99 9 ms > 2 ms"), [], True, "rolled back: p99 9 ms > 2 ms"),
        ("failed", ("failed", None), [], True, "version 2 failed"),
        ("failed", ("pending", None), [], True, "the endpoint failed"),
    ],
)
def test_deploy_progress(
    status: str,
    version: tuple[str, str | None],
    replicas: list[tuple[int, str]],
    done: bool,
    failed: str | None,
) -> None:
    state, reason = version
    versions = [version_row(1, "live"), version_row(2, state, reason)]
    shown = EndpointDetail.model_validate(
        detail(status=status, versions=versions, replicas=[replica(*r) for r in replicas])
    )
    progress = deploy_progress(shown, 2)
    assert progress.done is done
    assert (progress.failed is None) == (failed is None)
    if failed is not None:
        assert failed in str(progress.failed)


def test_a_version_that_is_gone_ends_the_wait() -> None:
    shown = EndpointDetail.model_validate(detail(versions=[version_row(1, "live")]))
    assert deploy_progress(shown, 2).failed == (
        "version 2 is gone (the endpoint was redeployed or deleted)"
    )


# -- answers of the fake server --------------------------------------------------------------


def detail(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "e1",
        "title": "iris",
        "slug": "iris",
        "status": "running",
        "desired": "running",
        "min_replicas": 1,
        "max_replicas": 1,
        "replicas_wanted": 1,
        "definition": {},
        "created_at": T0.isoformat(),
        "updated_at": T0.isoformat(),
        "url": "http://hw.test/api/v1/endpoints/iris/predict",
        "versions": [],
        "replicas": [],
    }
    return {**base, **fields}


def page(rows: list[tuple[str, str, str]]) -> dict[str, Any]:
    items = [
        {k: v for k, v in detail(id=i, title=t, slug=s).items() if k not in ("url", "versions")}
        for i, t, s in rows
    ]
    return {"items": items, "total": len(items), "offset": 0, "limit": 500}


def version_row(number: int, state: str, reason: str | None = None) -> dict[str, Any]:
    return {
        "id": f"v{number}",
        "number": number,
        "state": state,
        "traffic": 0,
        "definition": {},
        "source": {},
        "reason": reason,
        "created_at": T0.isoformat(),
    }


def replica(version: int, state: str) -> dict[str, Any]:
    return {
        "id": f"r{version}",
        "version": version,
        "experiment": version,
        "state": state,
        "created_at": T0.isoformat(),
    }


def chunk(experiment: int, seq: int, at: datetime) -> dict[str, Any]:
    return {
        "experiment": experiment,
        "seq": seq,
        "stream": "stdout",
        "text": "x",
        "at": at.isoformat(),
    }

"""The replica's ASGI app called directly (httpx.ASGITransport): the calling convention."""

import asyncio
import base64
import io
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from headwater.serving import ReplicaApp, app
from headwater.serving.threads import ProvedShort
from tests.support.aio import run as run_async


def call(replica: ReplicaApp, *requests: tuple[str, str, Any]) -> list[httpx.Response]:
    """Send (method, path, content) requests one after the other."""

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=replica)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
            return [
                await client.request(method, path, content=content)
                for method, path, content in requests
            ]

    return run_async(go())


def predict(replica: ReplicaApp, body: Any, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=replica)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
            content = body if isinstance(body, bytes) else None
            json = None if isinstance(body, bytes) else body
            return await client.post("/predict", content=content, json=json, headers=headers)

    return run_async(go())


def echo(x: Any) -> Any:
    return {"got": x}


def test_a_single_argument_function_gets_the_input_as_is() -> None:
    answer = predict(app(echo), {"input_params": [1, 2, 3]})
    assert answer.status_code == 200
    assert answer.json() == {"prediction": {"got": [1, 2, 3]}}


def test_a_two_argument_function_gets_the_list_spread() -> None:
    answer = predict(app(lambda a, b: a * b), {"input_params": [6, 7]})
    assert answer.json() == {"prediction": 42}


def test_an_async_function_is_awaited() -> None:
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    assert predict(app(double), {"input_params": 21}).json() == {"prediction": 42}


def test_the_request_id_is_echoed_or_made() -> None:
    given = predict(app(echo), {"input_params": 1}, **{"X-Request-Id": "req-42"})
    assert given.headers["x-request-id"] == "req-42"
    made = predict(app(echo), {"input_params": 1})
    other = predict(app(echo), {"input_params": 1})
    assert made.headers["x-request-id"] != other.headers["x-request-id"]
    assert len(made.headers["x-request-id"]) >= 14
    odd = predict(app(echo), {"input_params": 1}, **{"X-Request-Id": "a b\tc"})
    assert odd.headers["x-request-id"] != "a b\tc"


def test_bad_bodies_are_400_with_where_and_hint() -> None:
    not_json = predict(app(echo), b"{not json")
    assert not_json.status_code == 400
    assert not_json.json()["where"] == "body"
    assert "input_params" in not_json.json()["hint"]
    no_params = predict(app(echo), {"inputs": 1})
    assert no_params.status_code == 400
    assert "no input_params" in no_params.json()["detail"]
    assert no_params.json()["request_id"] == no_params.headers["x-request-id"]


def test_a_body_over_the_limit_is_413() -> None:
    answer = predict(app(echo, max_body=100), {"input_params": "x" * 200})
    assert answer.status_code == 413
    assert "100 bytes" in answer.json()["detail"]
    assert predict(app(echo, max_body=100), {"input_params": "x"}).status_code == 200


def test_an_exception_is_a_500_naming_it_and_the_traceback_goes_to_the_log() -> None:
    def broken(x: Any) -> Any:
        raise ValueError("no such feature 'age'")

    log = io.StringIO()
    replica = ReplicaApp(broken, log=log)
    answer = predict(replica, {"input_params": 1}, **{"X-Request-Id": "r1"})
    assert answer.status_code == 500
    assert answer.json() == {
        "error": "prediction_failed",
        "detail": "ValueError: no such feature 'age'",
        "request_id": "r1",
    }
    assert "Traceback" not in answer.text
    lines = log.getvalue().splitlines()
    assert lines[0] == "[r1] Traceback (most recent call last):"
    assert all(line.startswith("[r1] ") for line in lines)
    assert "in broken" in log.getvalue()
    assert "asgi.py" not in log.getvalue()
    assert "threads.py" not in log.getvalue()


def test_a_result_that_is_not_json_is_a_500_saying_so() -> None:
    answer = predict(ReplicaApp(lambda x: {1, 2}, log=io.StringIO()), {"input_params": 1})
    assert answer.status_code == 500
    assert answer.json()["error"] == "prediction_not_json"
    assert "set is not JSON" in answer.json()["detail"]


def test_files_arrive_as_paths_in_a_private_folder_removed_after_the_call() -> None:
    seen: list[tuple[Path, bytes, int]] = []

    def read(path: str) -> int:
        seen.append((Path(path), Path(path).read_bytes(), Path(path).parent.stat().st_mode))
        return len(seen[-1][1])

    encoded = base64.b64encode(b"\x89PNG...").decode()
    answer = predict(app(read, accept_files=True), {"input_params": encoded})
    assert answer.json() == {"prediction": 7}
    path, content, mode = seen[0]
    assert content == b"\x89PNG..."
    assert mode & 0o777 == 0o700
    assert not path.parent.exists()


def test_a_list_of_files_reaches_a_two_argument_function_spread() -> None:
    def pair(a: str, b: str) -> list[str]:
        return [Path(a).read_text(), Path(b).read_text()]

    files = [base64.b64encode(text).decode() for text in (b"left", b"right")]
    answer = predict(app(pair, accept_files=True), {"input_params": files})
    assert answer.json() == {"prediction": ["left", "right"]}


def test_bad_base64_is_a_400() -> None:
    answer = predict(app(echo, accept_files=True), {"input_params": "%%%"})
    assert answer.status_code == 400
    assert answer.json()["where"] == "input_params"


def test_healthz_answers_while_a_sync_call_runs() -> None:
    # The reason sync functions run in a thread: inline, this call would hold the loop and
    # /healthz would wait for it (here: until the 5 s timeout, then fail the order check).
    release = threading.Event()
    order: list[str] = []

    def slow(x: Any) -> str:
        release.wait(timeout=5)
        order.append("predict")
        return "done"

    replica = app(slow)

    async def go() -> None:
        transport = httpx.ASGITransport(app=replica)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
            pending = asyncio.ensure_future(client.post("/predict", json={"input_params": 1}))
            while replica.stats.in_flight == 0 and not pending.done():
                await asyncio.sleep(0.001)
            health = await client.get("/healthz")
            order.append("healthz")
            stats = (await client.get("/stats")).json()
            release.set()
            assert health.json() == {"ok": True}
            assert stats == {"in_flight": 1, "requests": 1, "errors": 0, "rejected": 0}
            assert (await pending).json() == {"prediction": "done"}

    run_async(go())
    assert order == ["healthz", "predict"]


def test_stats_count_requests_errors_and_rejections() -> None:
    def maybe(x: int) -> int:
        return 1 // x

    replica = ReplicaApp(maybe, log=io.StringIO())
    for body in ({"input_params": 1}, {"input_params": 0}, {"nothing": 1}):
        predict(replica, body)
    (stats,) = call(replica, ("GET", "/stats", None))
    assert stats.json() == {"in_flight": 0, "requests": 3, "errors": 1, "rejected": 1}


def test_other_routes_are_404_and_wrong_methods_405() -> None:
    missing, wrong = call(app(echo), ("GET", "/nope", None), ("GET", "/predict", None))
    assert missing.status_code == 404
    assert "POST /predict" in missing.json()["hint"]
    assert wrong.status_code == 405


def test_a_body_nested_past_the_parsers_depth_is_a_400() -> None:
    answer = predict(app(echo), b'{"input_params": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert answer.status_code == 400
    assert "not JSON" in answer.json()["detail"]


def test_a_streamed_body_without_a_length_is_cut_at_the_limit() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"input_params": "'
        for _ in range(100):
            yield b"x" * 50
        yield b'"}'

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app(echo, max_body=1000))
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
            return await client.post("/predict", content=chunks())

    answer = run_async(go())
    assert answer.status_code == 413
    assert "content-length" not in answer.request.headers


def test_a_long_exception_message_is_cut_for_the_caller_but_whole_in_the_log() -> None:
    def verbose(x: Any) -> Any:
        raise KeyError("k" * 10_000)

    log = io.StringIO()
    answer = predict(ReplicaApp(verbose, log=log), {"input_params": 1})
    assert answer.status_code == 500
    assert len(answer.json()["detail"]) == 2000
    assert answer.json()["detail"].startswith("KeyError: 'kkk")
    assert "k" * 10_000 in log.getvalue()


def test_a_sync_function_runs_inline_once_proved_short_and_back_in_threads_after_a_long_call() -> (
    None
):
    threads: list[str] = []
    release = threading.Event()

    def where(x: Any) -> str:
        threads.append(threading.current_thread().name)
        if x == "slow":
            release.wait(timeout=5)
        return x

    proof = ProvedShort(short=1.0, long=0.05, window=8)
    replica = ReplicaApp(where, proof=proof)

    async def go() -> None:
        loop_thread = threading.current_thread().name
        transport = httpx.ASGITransport(app=replica)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
            for _ in range(8):
                answer = await client.post("/predict", json={"input_params": "x"})
                assert answer.status_code == 200
            assert all(name.startswith("hw-predict") for name in threads)
            assert proof.inline
            await client.post("/predict", json={"input_params": "x"})
            assert threads[-1] == loop_thread  # proved short: on the loop, no hand-off
            # a call that runs long inline holds the loop (release from a timer thread)...
            threading.Timer(0.1, release.set).start()
            assert (await client.post("/predict", json={"input_params": "slow"})).json() == {
                "prediction": "slow"
            }
            assert not proof.inline
            assert proof.demotions == 1
            # ...and the calls after it go to threads again, so /healthz answers beside them
            release.clear()
            pending = asyncio.ensure_future(client.post("/predict", json={"input_params": "slow"}))
            while replica.stats.in_flight == 0:
                await asyncio.sleep(0.001)
            assert (await client.get("/healthz")).json() == {"ok": True}
            release.set()
            assert (await pending).json() == {"prediction": "slow"}
            assert threads[-1].startswith("hw-predict")

    run_async(go())

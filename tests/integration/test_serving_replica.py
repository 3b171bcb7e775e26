"""The real replica process (`python -m headwater.serving`) over its Unix socket."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from headwater.runtime.sandbox import Sandbox
from headwater.runtime.stopping import signal_group
from tests.support.waiting import wait_until

needs_bwrap = pytest.mark.skipif(not shutil.which("bwrap"), reason="bubblewrap is not installed")

PREDICT = textwrap.dedent(
    """
    import time
    from pathlib import Path

    from helpers import triple

    LOADS = []
    LOADS.append(1)  # the module runs once: a model loaded here is loaded once


    def predict(x):
        if x == "boom":
            raise ValueError("bad input for the model")
        if x == "slow":  # held until the test drops a release file
            while not Path("release").exists():
                time.sleep(0.01)
            return "finished"
        return {"tripled": triple(x), "loads": len(LOADS)}


    def pair(a, b):
        return a * b


    def size(path):
        return {"bytes": len(Path(path).read_bytes()), "head": Path(path).read_bytes()[:4].hex()}
    """
)


@dataclass
class Replica:
    process: subprocess.Popen[bytes]
    socket: Path
    folder: Path

    def client(self) -> httpx.Client:
        transport = httpx.HTTPTransport(uds=str(self.socket))
        return httpx.Client(transport=transport, base_url="http://replica", timeout=30)

    def stderr(self) -> str:
        return (self.folder / "stderr.log").read_text()

    def stdout(self) -> str:
        return (self.folder / "stdout.log").read_text()


Start = Callable[..., Replica]


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    # A short path: a Unix socket's path is limited to about 100 bytes.
    short = Path(tempfile.mkdtemp(prefix="hwr-"))
    (short / "predict.py").write_text(PREDICT)
    (short / "helpers.py").write_text("def triple(x):\n    return 3 * x\n")
    yield short
    shutil.rmtree(short, ignore_errors=True)


@pytest.fixture
def start(folder: Path) -> Iterator[Start]:
    started: list[Replica] = []

    def run(function: str = "predict", *flags: str, file: str = "predict.py") -> Replica:
        socket = folder / "replica.sock"
        argv = [sys.executable, "-m", "headwater.serving", "--file", file]
        argv += ["--function", function, "--socket", str(socket)]
        argv += ["--ready-file", str(folder / "ready"), *flags]
        with (folder / "stdout.log").open("wb") as out, (folder / "stderr.log").open("wb") as err:
            process = subprocess.Popen(argv, cwd=folder, stdout=out, stderr=err)
        replica = Replica(process=process, socket=socket, folder=folder)
        started.append(replica)
        return replica

    yield run
    for replica in started:
        if replica.process.poll() is None:
            replica.process.kill()
        replica.process.wait(timeout=10)


def ready(replica: Replica) -> Replica:
    wait_until(
        lambda: (replica.folder / "ready").exists() or replica.process.poll() is not None,
        message=lambda: f"the replica did not get ready: {replica.stderr()}",
    )
    assert replica.process.poll() is None, replica.stderr()
    return replica


def test_a_replica_predicts_over_its_private_socket(start: Start) -> None:
    replica = ready(start())
    assert (replica.folder / "ready").read_text().strip() == f"unix:{replica.socket}"
    assert f"headwater serving: ready on unix:{replica.socket}" in replica.stdout()
    assert stat.S_IMODE(replica.socket.stat().st_mode) == 0o600
    with replica.client() as client:
        first = client.post("/predict", json={"input_params": 5}, headers={"X-Request-Id": "a1"})
        second = client.post("/predict", json={"input_params": 7})
        assert client.get("/healthz").json() == {"ok": True}
        stats = client.get("/stats").json()
    assert first.status_code == 200
    assert first.headers["x-request-id"] == "a1"
    assert first.json() == {"prediction": {"tripled": 15, "loads": 1}}
    assert second.json() == {"prediction": {"tripled": 21, "loads": 1}}
    assert stats == {"in_flight": 0, "requests": 2, "errors": 0, "rejected": 0}


def test_a_replica_runs_on_uvloop(start: Start, folder: Path) -> None:
    """process.py asks uvicorn for uvloop; uvicorn only sets it up in its own ``run``, so a
    replica on ``asyncio.run`` got the stdlib loop (0.1-0.2 ms more CPU a request)."""
    (folder / "loop.py").write_text(
        "import asyncio\n\n\nasync def predict(x):\n"
        "    return type(asyncio.get_running_loop()).__module__\n"
    )
    with ready(start("predict", file="loop.py")).client() as client:
        answer = client.post("/predict", json={"input_params": 1})
    assert answer.json() == {"prediction": "uvloop"}


def test_a_two_argument_function_takes_the_list_spread(start: Start) -> None:
    with ready(start("pair")).client() as client:
        assert client.post("/predict", json={"input_params": [6, 7]}).json() == {"prediction": 42}


def test_a_file_input_arrives_as_a_path(start: Start) -> None:
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    with ready(start("size", "--accept-files")).client() as client:
        answer = client.post("/predict", json={"input_params": base64.b64encode(content).decode()})
        bad = client.post("/predict", json={"input_params": "*not base64*"})
    assert answer.json() == {"prediction": {"bytes": len(content), "head": "89504e47"}}
    assert bad.status_code == 400
    assert bad.json()["where"] == "input_params"


def test_an_exception_is_a_500_and_its_traceback_goes_to_the_log_only(start: Start) -> None:
    replica = ready(start())
    with replica.client() as client:
        answer = client.post(
            "/predict", json={"input_params": "boom"}, headers={"X-Request-Id": "req-7"}
        )
    assert answer.status_code == 500
    assert answer.json() == {
        "error": "prediction_failed",
        "detail": "ValueError: bad input for the model",
        "request_id": "req-7",
    }
    assert "Traceback" not in answer.text
    assert "predict.py" not in answer.text
    wait_until(lambda: "ValueError" in replica.stderr())
    log = replica.stderr()
    assert "[req-7] Traceback (most recent call last):" in log
    assert '[req-7]   File "' in log
    assert "predict.py" in log


def test_bad_bodies_are_refused(start: Start) -> None:
    with ready(start("predict", "--max-body", "1000")).client() as client:
        not_json = client.post("/predict", content=b"input_params=1")
        over = client.post("/predict", json={"input_params": "x" * 2000})
        after = client.post("/predict", json={"input_params": 1})
    assert not_json.status_code == 400
    assert "not JSON" in not_json.json()["detail"]
    assert over.status_code == 413
    assert after.status_code == 200


def test_a_load_error_exits_non_zero_naming_file_and_line(start: Start, folder: Path) -> None:
    (folder / "broken.py").write_text("import os\n\ndef predict(x)\n    return x\n")
    replica = start("predict", file="broken.py")
    assert replica.process.wait(timeout=30) == 1
    message = replica.stderr().strip()
    assert message.startswith("headwater serving: cannot load the endpoint's function: ")
    assert ": broken.py:3: syntax error" in message
    assert "syntax error" in message
    assert "Fix: " in message
    assert len(message.splitlines()) == 1
    assert not (folder / "ready").exists()


def test_sigterm_lets_the_request_in_flight_finish_then_exits_zero(start: Start) -> None:
    replica = ready(start())
    answers: list[httpx.Response] = []

    def slow_call() -> None:
        with replica.client() as client:
            answers.append(client.post("/predict", json={"input_params": "slow"}))

    caller = threading.Thread(target=slow_call)
    caller.start()
    with replica.client() as client:
        wait_until(lambda: client.get("/stats").json()["in_flight"] == 1)
    replica.process.send_signal(signal.SIGTERM)
    # It stops accepting: the socket goes, while the slow call is still held.
    wait_until(lambda: not replica.socket.exists())
    with pytest.raises(httpx.ConnectError), replica.client() as client:
        client.get("/healthz")
    assert replica.process.poll() is None
    (replica.folder / "release").touch()
    caller.join(timeout=30)
    assert [a.status_code for a in answers] == [200], replica.stderr()
    assert answers[0].json() == {"prediction": "finished"}
    assert replica.process.wait(timeout=30) == 0


def sandboxed(folder: Path, *flags: str) -> subprocess.Popen[bytes]:
    """The replica under the task sandbox, started as the runtime starts a task's command."""
    command = [sys.executable, "-m", "headwater.serving", "--file", "predict.py"]
    command += ["--function", "predict", "--socket", str(folder / "replica.sock")]
    command += ["--ready-file", str(folder / "ready"), *flags]
    argv = Sandbox(hidden=(str(Path.home() / ".headwater"),)).wrap(
        command, workdir=str(folder), cwd=str(folder)
    )
    with (folder / "stderr.log").open("wb") as err:
        return subprocess.Popen(argv, cwd=folder, stderr=err, start_new_session=True)


@needs_bwrap
def test_a_sandboxed_replica_is_reached_through_its_socket(folder: Path) -> None:
    (folder / "predict.py").write_text("def predict(path):\n    return path\n")
    process = sandboxed(folder, "--accept-files")
    try:
        replica = ready(Replica(process=process, socket=folder / "replica.sock", folder=folder))
        with replica.client() as client:
            answer = client.post("/predict", json={"input_params": base64.b64encode(b"x").decode()})
        # the decoded file lived in the sandbox's private /tmp, gone after the call
        assert answer.json()["prediction"].startswith("/tmp/hw-files-")
        assert not Path(answer.json()["prediction"]).parent.exists()
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@needs_bwrap
def test_a_sandboxed_replica_stopped_as_the_worker_stops_a_task_drains(folder: Path) -> None:
    process = sandboxed(folder)
    try:
        replica = ready(Replica(process=process, socket=folder / "replica.sock", folder=folder))
        answers: list[httpx.Response | Exception] = []

        def slow_call() -> None:
            with replica.client() as client:
                try:
                    answers.append(client.post("/predict", json={"input_params": "slow"}))
                except httpx.HTTPError as error:
                    answers.append(error)

        caller = threading.Thread(target=slow_call)
        caller.start()
        with replica.client() as client:
            wait_until(lambda: client.get("/stats").json()["in_flight"] == 1)
        signal_group(process.pid, signal.SIGTERM)  # how the worker stops a task
        wait_until(lambda: not replica.socket.exists() or process.poll() is not None)
        (folder / "release").touch()
        caller.join(timeout=30)
        assert isinstance(answers[0], httpx.Response), answers
        assert answers[0].json() == {"prediction": "finished"}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

"""The task runtime against a real server: ``run_task``, ``python -m headwater.runtime`` and
the local worker.

The server (uvicorn on loopback, in this process) hands tasks to the fake executor, so each
test runs its task itself and sees exactly what the runtime did; tests/integration/
test_experiments.py runs the same code under the local executor, end to end. The shipper and
the requirements cache are tested in test_runtime_shipping.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from headwater.client import Client
from headwater.client.objectcache import ObjectCache
from headwater.client.sync import push_folder
from headwater.domain.jobs import JobState
from headwater.executors.base import Launch
from headwater.executors.fake import FakeExecutor
from headwater.runtime.outputs import Outputs
from headwater.runtime.reporting import SharedTransport, TaskApi
from headwater.runtime.task import JobOutcome, run_task
from headwater.runtime.workspace import materialise
from headwater.schemas.experiments import InputMount, TaskSpec
from headwater.server import create_app
from headwater.settings import ServerSettings
from headwater.unixsocket import address
from tests.support.liveserver import free_port

pytestmark = pytest.mark.slow


# -- run_task against a real server ----------------------------------------------------------


@dataclass
class Live:
    url: str
    token: str
    executor: FakeExecutor
    home: Path

    def project(self, files: dict[str, str] | None = None) -> Client:
        admin = Client(self.url, self.token, config_dir=self.home / "cfg")
        made = admin.projects.create(f"rt-{os.urandom(3).hex()}")
        admin.close()
        client = Client(self.url, self.token, made.id, config_dir=self.home / "cfg")
        if files:
            folder = self.home / f"src-{os.urandom(3).hex()}"
            for name, text in files.items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text)
            push_folder(client.files.repo(), folder, message="files")
        return client

    def launched(self, experiment_id: str) -> Launch:
        deadline = time.monotonic() + 20
        while True:
            for launch in list(self.executor.launched):
                if launch.experiment_id == experiment_id:
                    return launch
            assert time.monotonic() < deadline, "the engine never launched it"
            time.sleep(0.02)

    def run(self, client: Client, command: str, **extra: Any) -> tuple[JobOutcome, str]:
        exp = client.experiments.create(command)[0]
        return self.run_launched(self.launched(exp.id), **extra), exp.id

    def run_launched(self, launch: Launch, **extra: Any) -> JobOutcome:
        """Run the launched task's runtime here, as the worker would."""
        return run_task(
            launch.experiment_id,
            launch.project_id,
            url=launch.server_url,
            token=launch.token,
            workroot=self.home / "work",
            cache_root=self.home / "cache",
            **extra,
        )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    home = tmp_path_factory.mktemp("runtime-server")
    port = free_port()
    app = create_app(ServerSettings(home=home, port=port, executor="fake"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    executor = app.state.platform.engine.executor
    assert isinstance(executor, FakeExecutor)
    token = (home / "admin.token").read_text().strip()
    yield Live(f"http://127.0.0.1:{port}", token, executor, home)
    server.should_exit = True
    thread.join(10)


def _logs(client: Client, ref: str) -> list[tuple[int, str, str]]:
    out: list[tuple[int, str, str]] = []
    after = 0
    while True:
        page = client.experiments.logs(ref, after=after)
        if not page.chunks:
            return out
        out += [(c.seq, c.stream, c.text) for c in page.chunks]
        after = page.next_seq


def _text(client: Client, ref: str, stream: str | None = None) -> str:
    return "".join(t for _, s, t in _logs(client, ref) if stream in (None, s))


MAIN = """
import os, sys
for i in range(20000):
    print(f"row {i}")
    if i % 5000 == 0:
        print(f"warn {i}", file=sys.stderr, flush=True)
print("hw_tag_accuracy: 0.93")
print("hw_linechart_loss value: 0.5")
print("hw_linechart_loss value: 0.25")
print("cwd", os.getcwd() == os.environ["PWD_EXPECTED"], "out", os.environ["HW_OUTPUT_DIR"])
open(os.path.join(os.environ["HW_OUTPUT_DIR"], "model.txt"), "w").write("weights")
open("scratch.txt", "w").write("not an output")
"""


def test_a_task_streams_everything_tags_charts_and_commits_its_outputs_on_its_branch(
    live: Live,
) -> None:
    client = live.project({"main.py": MAIN, "lib/helper.txt": "kept"})
    outcome, eid = live.run(client, 'PWD_EXPECTED="$PWD" python main.py')
    assert outcome == JobOutcome(JobState.SUCCESS, 0, None), _text(client, eid)
    exp = client.experiments.get(eid)
    assert exp.state is JobState.SUCCESS
    chunks = _logs(client, eid)
    assert [seq for seq, _, _ in chunks] == list(range(len(chunks)))
    out = _text(client, eid, "stdout")
    rows = [line for line in out.splitlines() if line.startswith("row ")]
    assert rows == [f"row {i}" for i in range(20000)]
    assert _text(client, eid, "stderr") == "".join(f"warn {i}\n" for i in range(0, 20000, 5000))
    assert "cwd True out " in out
    assert exp.tags == {"accuracy": "0.93"}
    assert {s.key: s.values for s in client.experiments.metrics(eid)} == {"loss": [0.5, 0.25]}
    assert exp.output_commit is not None
    repo = client.files.repo()
    branch = repo.versions(branch=exp.branch)
    assert exp.branch == f"experiments/{exp.number}"
    assert branch[0].id == exp.output_commit
    paths = {e.path for e in repo.tree(exp.output_commit).entries}
    assert paths == {"main.py", "lib/helper.txt", "output/model.txt"}  # start tree + outputs
    assert repo.content("output/model.txt", commit=exp.output_commit) == b"weights"
    head = repo.head()
    assert head is not None
    assert head.id != exp.output_commit  # the default branch is left alone
    assert not (live.home / "work" / eid).exists()


def test_endings_name_their_cause(live: Live) -> None:
    client = live.project()
    outcome, eid = live.run(client, "echo before; exit 3")
    assert outcome == JobOutcome(JobState.FAILED, 3, "exit code 3")
    assert client.experiments.get(eid).reason == "exit code 3"
    assert "before" in _text(client, eid)

    outcome, eid = live.run(client, "echo started; kill -9 $$")
    assert outcome.state is JobState.FAILED
    assert outcome.reason == "killed by signal SIGKILL"
    exp = client.experiments.get(eid)
    assert (exp.reason, exp.exit_code) == ("killed by signal SIGKILL", 137)
    assert "started" in _text(client, eid)

    # A child of the shell killed by a signal reads the same as the shell killed by one: the
    # shell exits 128+N for it (as bubblewrap does for its child), which is not an exit code.
    killer = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    outcome, eid = live.run(client, f'python -c "{killer}" && echo never')
    assert (outcome.state, outcome.reason) == (JobState.FAILED, "killed by signal SIGKILL")
    assert client.experiments.get(eid).reason == "killed by signal SIGKILL"
    outcome, eid = live.run(client, "kill -SEGV $$")
    assert (outcome.state, outcome.reason) == (JobState.FAILED, "killed by signal SIGSEGV")

    outcome, eid = live.run(client, "no-such-command-hw --flag")
    assert (outcome.state, outcome.exit_code) == (JobState.FAILED, 127)
    assert "not found" in _text(client, eid, "stderr")
    assert "ended failed: exit code 127" in _text(client, eid, "system")

    # Nothing was written in output/: no commit, and the branch is not made.
    assert client.experiments.get(eid).output_commit is None


def test_the_launch_carries_the_spec_and_the_runtime_uses_it_without_asking(
    live: Live,
) -> None:
    """The engine builds the spec the runtime would fetch and the launch carries it (the local
    worker hands it over its socket): one request fewer per task. A spec that does not parse
    (a worker of another version) is fetched as before."""
    client = live.project({"a.py": ""})
    exp = client.experiments.create("echo from-the-server")[0]
    launch = live.launched(exp.id)
    fetched = httpx.get(
        f"{live.url}/api/v1/projects/{launch.project_id}/experiments/{exp.id}/spec",
        headers={"Authorization": f"Bearer {launch.token}"},
    )
    assert fetched.status_code == 200
    assert launch.spec is not None
    assert launch.spec == fetched.json()
    assert launch.spec["env"]["HEADWATER_TOKEN"] == launch.token
    given = {**launch.spec, "command": "echo from-the-launch"}
    outcome = live.run_launched(launch, spec=given)
    assert outcome.state is JobState.SUCCESS
    assert "from-the-launch" in _text(client, exp.id, "stdout")

    exp = client.experiments.create("echo fetched-after-all")[0]
    launch = live.launched(exp.id)
    outcome = live.run_launched(launch, spec={"not": "a spec"})
    assert outcome.state is JobState.SUCCESS
    assert "fetched-after-all" in _text(client, exp.id, "stdout")


def test_tasks_of_one_worker_share_its_connections_to_the_server(live: Live) -> None:
    """The worker gives every task one pool of kept-alive connections: a task's end closes
    its client, not the pool, and the next task reuses the connection."""
    client = live.project()
    shared = SharedTransport(live.url)
    seen: list[int] = []
    for word in ("first", "second"):
        outcome, eid = live.run(client, f"echo {word}", transport=shared)
        assert outcome.state is JobState.SUCCESS
        assert word in _text(client, eid, "stdout")
        seen += [id(c) for c in shared._pool._pool.connections]
    assert len(set(seen)) == 1, "the second task opened a connection of its own"
    shared.shut()


def test_a_background_process_holding_the_pipes_does_not_hold_the_task(
    live: Live, tmp_path: Path
) -> None:
    client = live.project()
    marker = tmp_path / "bg.pid"
    started = time.monotonic()
    outcome, eid = live.run(client, f"sleep 600 & echo $! > {marker}; echo main-done")
    assert outcome.state is JobState.SUCCESS
    assert time.monotonic() - started < 15
    assert "main-done" in _text(client, eid)
    pid = int(marker.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid):
        assert time.monotonic() < deadline, "the left-behind process still runs"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie is gone for our purpose
        return fh.read().split(")")[-1].split()[0] != "Z"


def test_cancel_ends_the_command_and_reports_it_stopped(live: Live) -> None:
    client = live.project()
    cancel = threading.Event()
    groups: list[int] = []

    def stop_when_started(pgid: int) -> None:
        groups.append(pgid)

        def stop() -> None:  # what the local worker does on "cancel"
            time.sleep(0.5)
            cancel.set()
            os.killpg(pgid, signal.SIGTERM)

        threading.Thread(target=stop, daemon=True).start()

    outcome, eid = live.run(
        client, "echo waiting; sleep 600", cancel=cancel, on_process=stop_when_started
    )
    assert groups
    assert (outcome.state, outcome.reason) == (JobState.ABORTED, "stopped")
    exp = client.experiments.get(eid)
    assert (exp.state, exp.reason) == (JobState.ABORTED, "stopped")
    assert "waiting" in _text(client, eid)


def test_a_stop_before_the_running_report_ends_the_command(live: Live) -> None:
    """The runtime says running a moment after its command starts; a stop that came first
    (here one the executor cannot pass on) makes that report fail, and the command ends."""
    client = live.project()
    exp = client.experiments.create("echo started; sleep 600")[0]
    launch = live.launched(exp.id)

    def stop_it(pgid: int) -> None:
        client.experiments.stop(exp.id)

    began = time.monotonic()
    outcome = live.run_launched(launch, on_process=stop_it)
    assert time.monotonic() - began < 30
    assert (outcome.state, outcome.reason) == (JobState.ABORTED, "stopped")
    found = client.experiments.get(exp.id)
    assert (found.state, found.started_at) == (JobState.ABORTED, None)


def test_a_user_stop_meanwhile_ends_it_quietly_and_keeps_its_last_output(live: Live) -> None:
    client = live.project()

    def stop_it(pgid: int) -> None:
        threading.Timer(0.3, lambda: client.experiments.stop(eid)).start()

    exp = client.experiments.create("sleep 1; echo last-words")[0]
    eid = exp.id
    launch = live.launched(eid)
    outcome = live.run_launched(launch, on_process=stop_it)
    assert outcome.state is JobState.SUCCESS  # what the runtime saw; the server keeps its word
    exp = client.experiments.get(eid)
    assert exp.state is JobState.ABORTED
    assert "last-words" in _text(client, eid)


def test_a_task_that_cannot_read_its_spec_ends_failed_without_raising(live: Live) -> None:
    client = live.project()
    exp = client.experiments.create("echo never")[0]
    launch = live.launched(exp.id)
    outcome = run_task(
        exp.id,
        launch.project_id,
        url=live.url,
        token="not-the-task-token",
        workroot=live.home / "work",
        cache_root=live.home / "cache",
    )
    assert outcome.state is JobState.FAILED
    assert outcome.reason is not None
    assert "could not read the task" in outcome.reason
    client.experiments.stop(exp.id)  # its compute goes back


def test_inputs_land_in_input_with_their_env_var_and_outputs_commit_only_changes(
    live: Live, tmp_path: Path
) -> None:
    client = live.project({"output/model.bin": "trained", "output/sub/x.txt": "x", "a.py": ""})
    parent_commit = client.files.repo().head()
    assert parent_commit is not None
    exp = client.experiments.create("true")[0]
    launch = live.launched(exp.id)
    api = TaskApi(launch.server_url, launch.token, launch.project_id, exp.id)
    spec = api.http.call("GET", f"{api.base}/spec", TaskSpec)
    spec = spec.model_copy(
        update={"inputs": [InputMount(name="train_model", repo="files", commit=parent_commit.id)]}
    )
    root = tmp_path / "task"
    cache, trees = ObjectCache(tmp_path / "objects"), tmp_path / "trees"
    start, env = materialise(api, spec, root, cache, trees)
    target = root / "input" / "train_model"
    assert env == {"INPUT_TRAIN_MODEL": str(target)}
    assert (target / "model.bin").read_text() == "trained"
    assert (target / "sub" / "x.txt").read_text() == "x"
    assert not (target / "a.py").exists()
    # A commit's tree and blobs are kept: the next task on it asks the server nothing (a wrong
    # token would be refused at once).
    stranger = TaskApi(launch.server_url, "wrong-token", launch.project_id, exp.id)
    again, _ = materialise(stranger, spec, tmp_path / "again", cache, trees)
    assert again == start
    assert (tmp_path / "again" / "input" / "train_model" / "model.bin").read_text() == "trained"
    stranger.close()

    outputs = Outputs(api, root, "output", spec.experiment.branch, spec.files_commit)
    outputs.start = start
    first = outputs.commit("first")
    assert first is not None
    assert outputs.commit("nothing changed") == first
    (root / "output" / "model.bin").write_text("better")
    second = outputs.commit("changed")
    assert second not in (None, first)
    history = client.files.repo().versions(branch=spec.experiment.branch)
    assert [c.id for c in history[:2]] == [second, first]
    api.close()
    client.experiments.stop(exp.id)


def test_python_m_headwater_runtime_runs_one_task_as_remote_executors_start_it(
    live: Live, tmp_path: Path
) -> None:
    client = live.project()
    exp = client.experiments.create("echo remote; exit 4")[0]
    launch = live.launched(exp.id)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    argv = [sys.executable, "-m", "headwater.runtime", exp.id, "--project", launch.project_id]
    argv += ["--workroot", str(tmp_path / "w"), "--cache", str(tmp_path / "c")]
    missing = subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert "HEADWATER_URL" in missing.stderr
    environ.update(HEADWATER_URL=launch.server_url, HEADWATER_TOKEN=launch.token)
    ran = subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 1, ran.stderr
    ended = client.experiments.get(exp.id)
    assert (ended.state, ended.reason) == (JobState.FAILED, "exit code 4")
    assert "remote" in _text(client, exp.id)


# -- the local worker ------------------------------------------------------------------------


def _ask(sock: Path, request: dict[str, Any]) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        with address(sock) as name:  # a deep tmp_path is past the sun_path limit
            conn.connect(name)
        conn.sendall(json.dumps(request).encode() + b"\n")
        with conn.makefile("rb") as reader:
            answer: dict[str, Any] = json.loads(reader.readline())
            return answer


def test_the_worker_runs_lists_cancels_survives_sighup_and_leaves_when_idle(
    live: Live, tmp_path: Path
) -> None:
    sock = tmp_path / "worker" / "worker.sock"  # a folder of its own, made 0700 by it
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "headwater.runtime.worker", "--socket", str(sock),
            "--workroot", str(tmp_path / "work"), "--cache", str(tmp_path / "cache"),
            "--idle-exit", "30",
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not sock.exists():
            assert time.monotonic() < deadline, "the worker did not listen"
            time.sleep(0.02)
        assert _ask(sock, {"op": "ping"}) == {"ok": True, "pid": worker.pid}
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600, "other users could connect"
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700, "others could enter"
        assert Path(f"{sock}.pid").read_text().strip() == str(worker.pid)
        os.kill(worker.pid, signal.SIGHUP)  # the terminal of the server that started it closed
        assert _ask(sock, {"op": "ping"})["ok"]

        client = live.project()
        exp = client.experiments.create("echo running; trap '' TERM; sleep 600")[0]
        launch = live.launched(exp.id)
        request = {
            "op": "launch",
            "experiment_id": exp.id,
            "project_id": launch.project_id,
            "url": launch.server_url,
            "token": launch.token,
        }
        assert _ask(sock, request)["ok"]
        deadline = time.monotonic() + 20
        while client.experiments.get(exp.id).state is not JobState.RUNNING:
            assert time.monotonic() < deadline, "the task never ran"
            time.sleep(0.05)
        # RUNNING is reported just before the command starts: its group follows at once.
        listed = _ask(sock, {"op": "list"})["tasks"]
        while listed[exp.id]["pgid"] is None:
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.02)
            listed = _ask(sock, {"op": "list"})["tasks"]
        assert list(listed) == [exp.id]
        assert isinstance(listed[exp.id]["pgid"], int)
        assert _ask(sock, {"op": "bogus"})["ok"] is False

        # It ignores SIGTERM: the worker's SIGKILL follows 10 s later.
        assert _ask(sock, {"op": "cancel", "experiment_id": exp.id}) == {
            "ok": True,
            "running": True,
        }
        deadline = time.monotonic() + 25
        while not client.experiments.get(exp.id).state.terminal:
            assert time.monotonic() < deadline, "the cancelled task did not end"
            time.sleep(0.1)
        ended = client.experiments.get(exp.id)
        assert (ended.state, ended.reason) == (JobState.ABORTED, "stopped")

        assert _ask(sock, {"op": "exit_when_idle"}) == {"ok": True}
        assert worker.wait(10) == 0
        assert not sock.exists()
        assert not Path(f"{sock}.pid").exists()
    finally:
        if worker.poll() is None:
            worker.kill()

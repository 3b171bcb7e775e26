"""Experiments end to end: a real server process, its engine, the local worker and the runtime.

Nothing here is faked: commands run as real process groups, output flows back over HTTP,
outputs are committed on the experiment's branch. The server runs as `hw server` would, in
its own process, so the crash test can kill it with SIGKILL.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from headwater.client import Client
from headwater.domain.errors import HeadwaterError
from headwater.schemas.experiments import ExperimentOut
from tests.support.liveserver import free_port, stop_workers
from tests.support.postgres import DATABASES
from tests.support.rayhead import RayHead

pytestmark = pytest.mark.slow
PY = sys.executable


@dataclass
class Live:
    home: Path
    url: str
    port: int
    token: str
    process: subprocess.Popen[bytes]
    log: Path
    tmp: Path
    database_url: str | None = None
    executor: str = "local"

    def client(self, project: str | None = None) -> Client:
        return Client(self.url, self.token, project, config_dir=self.tmp / "cfg")

    @property
    def shared(self) -> Path:
        """A folder of the test's that its tasks may read and write (see ``_start``)."""
        return self.home.parent / "shared"


def _start(
    home: Path, port: int, log: Path, database_url: str | None = None, **extra: str
) -> subprocess.Popen[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    environ.update(
        HEADWATER_HOME=str(home), HEADWATER_PORT=str(port), HEADWATER_WORKER_IDLE_EXIT="20"
    )
    # Tasks run sandboxed: the one folder of the test's they may use (scripts, markers)
    shared = home.parent / "shared"
    shared.mkdir(exist_ok=True)
    shared.chmod(0o777)  # the task's uid is not root's
    environ["HEADWATER_SANDBOX_READ_WRITE"] = str(shared)
    # Webhooks, Slack and mail peers listen on loopback here: the admin lets the server reach
    # them, as on a trusted single-user server (tests/security/test_webhooks.py: the default).
    environ["HEADWATER_WEBHOOK_ALLOW_PRIVATE"] = "true"
    environ.update(extra)
    if database_url is not None:
        environ["HEADWATER_DATABASE_URL"] = database_url
    out = log.open("ab")
    process = subprocess.Popen(
        [PY, "-m", "headwater.cli.main", "server", "--port", str(port), "--log-level", "warning"],
        env=environ,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"server did not start: {log.read_text()}")


def _stop(live: Live) -> None:
    if live.process.poll() is None:
        live.process.terminate()
        live.process.wait(timeout=30)
    stop_workers(live.home)


# A test that exercises the executor runs once more on Ray: `@ALSO_ON_RAY` adds the param
# "ray" to the server fixture `live` (SQLite, HEADWATER_EXECUTOR=ray on the module's Ray head,
# tests/support/rayhead.py; marked `ray`: `-m ray` runs only those, `-m "not ray"` none).
ON_RAY = pytest.param("ray", marks=pytest.mark.ray)
ALSO_ON_RAY = pytest.mark.parametrize("live", [*DATABASES, ON_RAY], indirect=True)


@contextmanager
def module_server(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Live]:
    """`hw server` in its own process for a module's tests (a fixture parameterised over
    ``DATABASES``, or "ray": ``request.param``), on SQLite, on a fresh PostgreSQL database, or
    on SQLite with its tasks on the module's Ray head."""
    with ExitStack() as stack:
        url, extra = None, {}
        if request.param == "ray":
            head: RayHead = request.getfixturevalue("ray_head")
            extra = {
                "HEADWATER_EXECUTOR": "ray",
                "HEADWATER_RAY_ADDRESS": head.cluster,
                "HEADWATER_RAY_PYTHON": PY,  # the nodes run this tree's code
            }
        elif request.param != "sqlite":
            url = stack.enter_context(request.getfixturevalue("postgres_cluster").fresh_database())
        yield from serve(tmp, url, **extra)


def serve(tmp: Path, database_url: str | None, **extra: str) -> Iterator[Live]:
    """`hw server` in its own process, home and log under ``tmp``, stopped when closed;
    ``extra``: more of its environment (its executor)."""
    home, port, log = tmp / "home", free_port(), tmp / "server.log"
    process = _start(home, port, log, database_url, **extra)
    token = (home / "admin.token").read_text().strip()
    server = Live(home, f"http://127.0.0.1:{port}", port, token, process, log, tmp, database_url)
    server.executor = extra.get("HEADWATER_EXECUTOR", "local")
    try:
        yield server
    finally:
        _stop(server)


@pytest.fixture(params=DATABASES)
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    """`hw server` in its own process, on SQLite or on a fresh PostgreSQL database (or on Ray:
    ``ALSO_ON_RAY``)."""
    with module_server(request, tmp_path) as server:
        yield server


def _project(live: Live) -> tuple[Client, str]:
    admin = live.client()
    made = admin.projects.create(f"exp-{os.urandom(3).hex()}")
    admin.close()
    return live.client(made.id), made.id


def _wait(client: Client, made: list[ExperimentOut], timeout: float = 90) -> list[ExperimentOut]:
    deadline = time.monotonic() + timeout
    while True:
        now = [client.experiments.get(e.id) for e in made]
        if all(e.state.terminal for e in now):
            return now
        if time.monotonic() > deadline:
            pytest.fail(f"experiments did not end: {[(e.number, e.state) for e in now]}")
        time.sleep(0.2)


def _log_text(client: Client, ref: str) -> str:
    out, after = [], 0
    while True:
        page = client.experiments.logs(ref, after=after)
        if not page.chunks:
            return "".join(out)
        out += [c.text for c in page.chunks]
        after = page.next_seq


SCRIPT = (
    "import os, sys; "
    "print('argv', sys.argv[1:]); "
    "print('env', os.environ['HW_TAG_LR'], os.environ.get('GREETING'), os.environ.get('API_KEY')); "
    "print('reversed', os.environ.get('API_KEY')[::-1]); "
    "print('hw_tag_seen: ' + sys.argv[-1]); "
    "print('cnvrg_tag_old_style: yes'); "
    "print('hw_tag_broken no colon'); "
    "sys.stdout.buffer.write(bytes(range(256)) + b'\\n'); "
    "print('hw_linechart_loss value: 0.5'); print('hw_linechart_loss value: 0.25'); "
    "os.makedirs(os.environ['HW_OUTPUT_DIR'], exist_ok=True); "
    "open(os.path.join(os.environ['HW_OUTPUT_DIR'], 'result.txt'), 'w').write(sys.argv[-1])"
)


@ALSO_ON_RAY
def test_a_grid_runs_each_combination_with_params_env_tags_metrics_and_outputs(
    live: Live,
) -> None:
    client, _pid = _project(live)
    client.env.set({"GREETING": "hello"})
    client.secrets.set("API_KEY", "s3cret")
    runs = [{"lr": "0.1"}, {"lr": "0.01"}]
    made = client.experiments.create(f'{PY} -c "{SCRIPT}"', runs)
    assert [e.params for e in made] == runs
    done = _wait(client, made)
    for exp, run in zip(done, runs, strict=True):
        assert exp.state.value == "success", _log_text(client, exp.id)
        assert exp.exit_code == 0
        log = _log_text(client, exp.id)
        assert f"argv ['--lr', '{run['lr']}']" in log
        # the task sees the secret; the stored log never shows it
        assert f"env {run['lr']} hello ***" in log
        assert "reversed terc3s" in log
        assert "s3cret" not in log
        assert exp.tags == {"seen": run["lr"], "old_style": "yes"}
        series = {s.key: s.values for s in client.experiments.metrics(exp.id)}
        assert series == {"loss": [0.5, 0.25]}
        assert exp.output_commit is not None
        tree = client.files.repo().tree(exp.output_commit)
        paths = {e.path for e in tree.entries}
        assert "output/result.txt" in paths
        content = client.files.repo().content("output/result.txt", commit=exp.output_commit)
        assert content.decode() == run["lr"]
        assert exp.branch == f"experiments/{exp.number}"


@ALSO_ON_RAY
def test_failures_name_their_cause_and_the_engine_runs_on(live: Live) -> None:
    client, _ = _project(live)
    missing = client.experiments.create("no-such-command-hw --flag")[0]
    killed = client.experiments.create("echo started; kill -9 $$")[0]
    failing = client.experiments.create(f"{PY} -c 'import sys; sys.exit(3)'")[0]
    after = client.experiments.create("echo still-working")[0]
    by_id = {e.id: e for e in _wait(client, [missing, killed, failing, after])}
    assert by_id[missing.id].state.value == "failed"
    assert by_id[missing.id].exit_code == 127
    assert "not found" in _log_text(client, missing.id)
    assert by_id[killed.id].state.value == "failed"
    assert "SIGKILL" in (by_id[killed.id].reason or "")
    assert "started" in _log_text(client, killed.id)
    assert by_id[failing.id].reason == "exit code 3"
    assert by_id[after.id].state.value == "success"
    assert "still-working" in _log_text(client, after.id)


@ALSO_ON_RAY
def test_stop_ends_the_whole_process_group(live: Live) -> None:
    client, _ = _project(live)
    marker = live.shared / "child.pid"
    exp = client.experiments.create(f"sh -c 'sleep 300 & echo $! > {marker}; wait'")[0]
    deadline = time.monotonic() + 30
    while not marker.exists() or not marker.read_text().strip():
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.1)
    child = _host_pid(int(marker.read_text()), b"sleep\x00300")
    stopped = client.experiments.stop(exp.id)
    assert stopped.state.value == "aborted"
    deadline = time.monotonic() + 20
    while _alive(child):
        assert time.monotonic() < deadline, "the grandchild survived the stop"
        time.sleep(0.1)


def _host_pid(pid: int, cmdline: bytes) -> int:
    """The pid, as this process sees it, of the process with ``cmdline`` that called itself
    ``pid``: a sandboxed task has a PID namespace of its own (``NSpid`` lists both)."""
    for proc in Path("/proc").iterdir():
        try:
            status = (proc / "status").read_text()
            command = (proc / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        ids = next(
            (line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), []
        )
        if ids and int(ids[-1]) == pid and command.startswith(cmdline):
            return int(ids[0])
    raise AssertionError(f"no process {cmdline!r} with pid {pid} in its namespace")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and ") Z " not in stat.read_text()


@ALSO_ON_RAY
def test_work_waits_for_compute_instead_of_oversubscribing(live: Live) -> None:
    client, _ = _project(live)
    made = client.experiments.create(
        f"{PY} -c 'import time; time.sleep(0.5)'",
        [{"i": str(i)} for i in range(3)],
        computes=["large"],
    )
    done = _wait(client, made)
    spans = sorted((e.started_at, e.ended_at) for e in done)
    assert all(e.state.value == "success" for e in done)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start is not None
        assert end is not None
        assert start >= end, "two 'large' experiments ran at once"


def test_monitor_counts_active_and_pending_jobs(live: Live) -> None:
    client, pid = _project(live)
    made = client.experiments.create(
        f"{PY} -c 'import time; time.sleep(30)'",
        [{"i": str(i)} for i in range(2)],
        computes=["large"],
    )
    deadline = time.monotonic() + 30
    while True:
        view = client.compute.monitor()
        scope = view.projects.get(pid)
        if scope is not None and scope.active_jobs == 1 and scope.pending_jobs == 1:
            break
        assert time.monotonic() < deadline, view
        time.sleep(0.2)
    assert view.total.cpus >= 1
    assert scope.assigned.cpus == view.total.cpus  # 'large' takes every core
    for e in made:
        client.experiments.stop(e.id)


def test_webhooks_hear_of_endings_with_a_signature(live: Live) -> None:
    from tests.support.peers import Listener

    client, _ = _project(live)
    listener = Listener()
    serving = listener.serve()
    next(serving)
    try:
        hook = client.webhooks.create(listener.url)
        exp = client.experiments.create("exit 1")[0]
        _wait(client, [exp])
        deadline = time.monotonic() + 30
        while not any(b'"experiment.failed"' in body for _, body in listener.received):
            assert time.monotonic() < deadline, listener.received
            time.sleep(0.1)
        headers, body = next((h, b) for h, b in listener.received if b'"experiment.failed"' in b)
        expected = hmac.new(hook.signing_secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Headwater-Signature-256"] == f"sha256={expected}"
        assert json.loads(body)["event"] == "experiment.failed"
        assert json.loads(body)["experiment"]["number"] == exp.number
    finally:
        serving.close()


def test_a_server_killed_mid_run_adopts_or_ends_its_experiments(live: Live) -> None:
    client, _ = _project(live)
    script = (
        "import time, sys\n"
        "for i in range(30):\n"
        "    print('hw_linechart_step value:', i, flush=True); print('line', i, flush=True)\n"
        "    time.sleep(0.1)\n"
    )
    (live.shared / "steps.py").write_text(script)
    made = client.experiments.create(
        f"{PY} {live.shared / 'steps.py'}", [{"i": str(i)} for i in range(4)]
    )
    deadline = time.monotonic() + 30
    while sum(client.experiments.get(e.id).state.value == "running" for e in made) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)
    before = {e.id: _log_text(client, e.id) for e in made}
    os.killpg(live.process.pid, signal.SIGKILL)
    live.process.wait()
    client.close()
    live.process = _start(live.home, live.port, live.log, live.database_url)
    client = live.client(client.scope.id())
    done = _wait(client, made, timeout=120)
    for exp in done:
        assert exp.state.terminal
        log = _log_text(client, exp.id)
        assert log.startswith(before[exp.id]), "output logged before the kill was lost"
        if exp.state.value == "success":
            assert "line 29" in log
            steps = client.experiments.metrics(exp.id, key="step")[0].values
            assert steps == [float(i) for i in range(30)]
    # nothing ran twice: each log has each line once
    for exp in done:
        log = _log_text(client, exp.id)
        assert log.count("line 0\n") <= 1


def _push(client: Client, files: dict[str, str], tmp: Path) -> None:
    """Make ``files`` the project's files (as `hw sync` would)."""
    from headwater.client.sync import push_folder

    folder = tmp / f"src-{os.urandom(3).hex()}"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    push_folder(client.files.repo(), folder, message="test files")


@ALSO_ON_RAY
def test_the_sdk_logs_params_and_metrics_from_inside_a_task(live: Live) -> None:
    client, _ = _project(live)
    script = (
        "from headwater import Experiment\n"
        "exp = Experiment()\n"
        "exp.log_param('optimizer', 'adam')\n"
        "for i in range(20_000):\n"
        "    exp.log_metric('loss', 1 / (i + 1), step=i)\n"
        "exp.log_metrics({'acc': 0.5, 'f1': 0.25}, step=7)\n"
        "open('model.bin', 'wb').write(b'weights')\n"
        "exp.log_artifact('model.bin')\n"
    )
    _push(client, {"train.py": script}, live.tmp)
    exp = _wait(client, client.experiments.create("python train.py"))[0]
    assert exp.state.value == "success", _log_text(client, exp.id)
    assert exp.logged_params == {"optimizer": "adam"}
    series = {s.key: s for s in client.experiments.metrics(exp.id)}
    assert series["loss"].steps == list(range(20_000))
    assert series["loss"].values[-1] == pytest.approx(1 / 20_000)
    assert series["acc"].steps == [7]
    assert series["f1"].values == [0.25]
    assert exp.latest_metrics["acc"] == 0.5
    content = client.files.repo().content("output/model.bin", commit=exp.output_commit)
    assert content == b"weights"


def test_log_model_registers_the_outputs_as_model_versions_linked_to_the_experiment(
    live: Live,
) -> None:
    client, _ = _project(live)
    script = (
        "import os\n"
        "from headwater import Experiment\n"
        "exp = Experiment()\n"
        "exp.log_param('depth', 3)\n"
        "exp.log_metric('auc', 0.8)\n"
        "os.makedirs('output/tok', exist_ok=True)\n"
        "open('output/tok/vocab.txt', 'w').write('a b')\n"
        "open('model.pkl', 'wb').write(b'pickled')\n"
        "print('marked', repr(exp.log_model('churn', 'model.pkl')))\n"  # copied into output/
        "print('marked', repr(exp.log_model('tokenizer', 'output/tok')))\n"
        "print('marked', repr(exp.log_model('everything')))\n"
        "exp.close()\n"
    )
    _push(client, {"train.py": script}, live.tmp)
    exp = _wait(client, client.experiments.create("python train.py"))[0]
    assert exp.state.value == "success", _log_text(client, exp.id)
    log = _log_text(client, exp.id)
    assert "marked 'model.pkl'" in log
    assert "marked 'tok'" in log
    assert "marked ''" in log

    churn = client.models.repo("churn").versions()
    assert len(churn) == 1
    source = churn[0].source
    assert source is not None
    assert (source.experiment_number, source.path) == (exp.number, "output/model.pkl")
    assert source.params == {"depth": "3"}
    assert source.metrics == {"auc": 0.8}
    assert client.models.repo("churn").content("model.pkl") == b"pickled"
    assert "model tokenizer was not" not in _log_text(client, exp.id), _log_text(client, exp.id)
    tokenizer = client.models.repo("tokenizer").tree()
    assert [e.path for e in tokenizer.entries] == ["tok/vocab.txt"]
    everything = {e.path for e in client.models.repo("everything").tree().entries}
    assert everything == {"model.pkl", "tok/vocab.txt"}
    assert "log_model: registered output/model.pkl as model churn" in _log_text(client, exp.id)
    assert sorted(m.name for m in client.models.list()) == ["churn", "everything", "tokenizer"]


def test_log_model_refuses_a_bad_name_in_the_task(live: Live) -> None:
    client, _ = _project(live)
    script = "from headwater import Experiment\nExperiment().log_model('bad name!')\n"
    _push(client, {"bad.py": script}, live.tmp)
    exp = _wait(client, client.experiments.create("python bad.py"))[0]
    assert exp.state.value == "failed"
    assert "is not a model name" in _log_text(client, exp.id)
    assert client.models.list() == []


SQLITE_ONLY = pytest.mark.parametrize("database_url", [None], ids=["sqlite"])  # slow, DB-agnostic
LIVE_ON_SQLITE = pytest.mark.parametrize("live", ["sqlite"], indirect=True)  # the same, for `live`


@LIVE_ON_SQLITE
def test_requirements_install_once_and_prerun_runs_first(live: Live) -> None:
    client, _ = _project(live)
    # A local package, so the test needs no network: pip installs it from the folder.
    files = {
        "requirements.txt": "./localpkg\n",
        "localpkg/pyproject.toml": (
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
            '[project]\nname = "hwlocalpkg"\nversion = "1.0"\n'
        ),
        "localpkg/hwlocalpkg.py": "VALUE = 42\n",
        "prerun.sh": "echo prerun-ran > prerun.txt\n",
        "main.py": (
            "import hwlocalpkg, headwater\n"
            "print('value', hwlocalpkg.VALUE, open('prerun.txt').read().strip())\n"
        ),
    }
    _push(client, files, live.tmp)
    first = _wait(client, client.experiments.create("python main.py"), timeout=240)[0]
    assert first.state.value == "success", _log_text(client, first.id)
    log = _log_text(client, first.id)
    assert "value 42 prerun-ran" in log
    assert "installing into" in log
    second = _wait(client, client.experiments.create("python main.py"), timeout=120)[0]
    assert second.state.value == "success", _log_text(client, second.id)
    assert "reusing the environment" in _log_text(client, second.id)


@LIVE_ON_SQLITE
def test_a_failing_install_fails_the_task_with_pips_message(live: Live) -> None:
    client, _ = _project(live)
    _push(client, {"requirements.txt": "./no-such-folder\n", "main.py": "print(1)\n"}, live.tmp)
    exp = _wait(client, client.experiments.create("python main.py"), timeout=240)[0]
    assert exp.state.value == "failed"
    assert "pip install -r requirements.txt failed" in (exp.reason or "")
    assert "no-such-folder" in _log_text(client, exp.id)


def test_datasets_appear_in_data(live: Live) -> None:
    client, _ = _project(live)
    client.datasets.create("iris")
    folder = live.tmp / "iris"
    folder.mkdir()
    (folder / "rows.csv").write_text("a,b\n1,2\n")
    from headwater.client.sync import push_folder

    push_folder(client.datasets.repo("iris"), folder)
    exp = client.experiments.create("cat data/iris/rows.csv", options={"datasets": ["iris"]})
    done = _wait(client, exp)[0]
    assert done.state.value == "success", _log_text(client, done.id)
    assert "1,2" in _log_text(client, done.id)


@LIVE_ON_SQLITE
def test_periodic_sync_keeps_outputs_of_a_task_that_never_ends_well(live: Live) -> None:
    client, _ = _project(live)
    client.settings.update({"autosync": True, "sync_minutes": 1})
    script = (
        "import os, time\n"
        "out = os.environ['HW_OUTPUT_DIR']\n"
        "open(os.path.join(out, 'checkpoint.txt'), 'w').write('epoch 1')\n"
        "time.sleep(600)\n"
    )
    _push(client, {"long.py": script}, live.tmp)
    exp = client.experiments.create("python long.py")[0]
    deadline = time.monotonic() + 100
    while client.experiments.get(exp.id).output_commit is None:
        assert time.monotonic() < deadline, "no periodic commit within the sync interval"
        time.sleep(1)
    commit = client.experiments.get(exp.id).output_commit
    assert client.files.repo().content("output/checkpoint.txt", commit=commit) == b"epoch 1"
    client.experiments.stop(exp.id)


@SQLITE_ONLY
def test_email_and_slack_hear_how_an_experiment_ended(tmp_path: Path, database_url: None) -> None:
    from aiosmtpd.controller import Controller

    from tests.support.peers import Inbox, Listener

    box = Inbox()
    smtp_port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    slack = Listener()
    serving = slack.serve()
    next(serving)
    home, port, log = tmp_path / "home", free_port(), tmp_path / "server.log"
    process = _start(
        home,
        port,
        log,
        HEADWATER_SMTP_HOST="127.0.0.1",
        HEADWATER_SMTP_PORT=str(smtp_port),
        HEADWATER_SMTP_SENDER="headwater@example.org",
    )
    token = (home / "admin.token").read_text().strip()
    live = Live(home, f"http://127.0.0.1:{port}", port, token, process, log, tmp_path)
    try:
        client, _ = _project(live)
        client.settings.update({"email_on_error": True, "slack": {"webhook_url": slack.url}})
        exp = _wait(
            client, client.experiments.create("exit 2", options={"emails": ["ada@example.org"]})
        )[0]
        deadline = time.monotonic() + 30
        while not box.messages or not slack.received:
            assert time.monotonic() < deadline, (box.messages, slack.received)
            time.sleep(0.1)
        envelope, mail = box.messages[0]
        assert envelope.rcpt_tos == ["ada@example.org"]
        assert f"experiment {exp.number}" in mail["Subject"]
        assert "exit code 2" in str(mail.get_payload())
        assert "exit code 2" in slack.received[0][1].decode()
        # a success tells nobody by email: email_on_success is off
        _wait(client, client.experiments.create("true"))
        time.sleep(1.0)
        assert len(box.messages) == 1
    finally:
        _stop(live)
        controller.stop()
        serving.close()


def test_listing_by_an_exact_title_finds_only_those(live: Live) -> None:
    """Live jobs find their runs this way (``live:<job>``); a prefix or another case is not it."""
    client, _ = _project(live)
    first = client.experiments.create("echo one", title="live:train")[0]
    client.experiments.create("echo two", title="live:train2")
    client.experiments.create("echo three", title="Live:train")
    second = client.experiments.create("echo four", title="live:train")[0]
    page = client.experiments.list(title="live:train")
    assert page.total == 2
    assert [e.id for e in page.items] == [second.id, first.id]  # newest first
    assert client.experiments.list(title="live:").total == 0
    assert client.experiments.list(title="live:train", limit=1).items[0].id == second.id
    _wait(client, [first, second])


def test_a_member_who_may_run_jobs_but_only_read_files_gets_the_outputs_committed(
    live: Live,
) -> None:
    """Running a job is the right to write its own branch ``experiments/<n>``, nothing more."""
    owner, pid = _project(live)
    admin = live.client()
    name = f"runner{os.urandom(3).hex()}"
    created = admin.users.create(name, f"{name}@example.org")
    admin.close()
    owner.members.add(name, jobs="all", files="read")
    member = Client(live.url, created.token, pid, config_dir=live.tmp / "cfg-member")
    script = "import os; open(os.environ['HW_OUTPUT_DIR'] + '/model.json', 'w').write('{}')"
    made = member.experiments.create(f'{PY} -c "{script}"')
    [done] = _wait(member, made)
    log = _log_text(member, done.id)
    assert done.state.value == "success", log
    assert "access to files" not in log
    assert done.output_commit is not None, log
    paths = {e.path for e in member.files.repo().tree(done.output_commit).entries}
    assert "output/model.json" in paths
    assert done.branch == f"experiments/{done.number}"
    member.close()


def test_a_job_mounts_a_datasets_version_or_a_query_as_a_flow_does(live: Live) -> None:
    """``NAME@COMMIT`` mounts that version, ``NAME:QUERY`` a saved query's files at its version,
    ``NAME`` the latest; a reference that names nothing is refused before anything runs."""
    from headwater.client.sync import push_folder

    client, _ = _project(live)
    folder = live.tmp / "rows"
    folder.mkdir()
    client.datasets.create("rows")
    (folder / "rows.csv").write_text("first\n")
    v1, _ = push_folder(client.datasets.repo("rows"), folder)
    (folder / "rows.csv").write_text("second\n")
    push_folder(client.datasets.repo("rows"), folder)
    client.datasets.create("mixed")
    mixed = live.tmp / "mixed"
    mixed.mkdir()
    (mixed / "a.csv").write_text("kept\n")
    (mixed / "b.txt").write_text("left out\n")
    push_folder(client.datasets.repo("mixed"), mixed)
    client.datasets.create_query("mixed", "csv", "*.csv")

    show = "cat data/rows/rows.csv; ls data/mixed"
    exp = client.experiments.create(show, options={"datasets": [f"rows@{v1.id[:8]}", "mixed:csv"]})
    done = _wait(client, exp)[0]
    log = _log_text(client, done.id)
    assert done.state.value == "success", log
    assert "first" in log  # the version asked for, not the latest
    assert "second" not in log
    assert "a.csv" in log  # the query's files only
    assert "b.txt" not in log
    latest = client.experiments.create(show, options={"datasets": ["rows", "mixed"]})
    log = _log_text(client, _wait(client, latest)[0].id)
    assert "second" in log
    assert "b.txt" in log

    for bad, where in (("rows@ffffffff", "commit"), ("rows:nope", None), ("rows:", "datasets")):
        with pytest.raises(HeadwaterError) as caught:
            client.experiments.create(show, options={"datasets": [bad]})
        if where is not None:
            assert where in (caught.value.where or ""), caught.value

"""The watchdog's restart of a stuck task, end to end: a real `hw server`, its engine, the local
worker and the runtime (the `live` fixture of test_experiments.py).

A task is stuck when it has printed nothing for the project's ``idle_minutes`` (1, the least
the settings allow, so each restart here waits a real minute): with ``restart_if_stuck`` the
watchdog ends its process and puts it back in the queue, and the engine launches it again.
Each attempt of the script below holds a lock on a file of the test's for as long as its
process lives, so an attempt that starts while an earlier one still runs says ``overlap``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.client import Client
from headwater.schemas.experiments import ExperimentOut
from tests.integration.test_experiments import (
    SQLITE_ONLY,
    Live,
    _log_text,
    _project,
    _push,
    serve,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow
PY = sys.executable
RESTART_WAIT = 180.0  # a minute without output, the watchdog's pass, a loaded machine

ATTEMPT = """\
import fcntl, os, signal, sys, time
shared, stuck, ignore = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "ignore"
lock = open(os.path.join(shared, "alive.lock"), "a")
try:
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    print("overlap: an earlier attempt still runs", flush=True)
    sys.exit(5)
with open(os.path.join(shared, "attempts"), "a+") as seen:
    seen.seek(0)
    number = len(seen.read().split()) + 1
    seen.write(f"{number}\\n")
print(f"attempt {number} started", flush=True)
if number <= stuck:
    if ignore:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(600)
print(f"attempt {number} done", flush=True)
"""


@pytest.fixture
def live(tmp_path: Path, database_url: str | None) -> Iterator[Live]:
    """`hw server` in its own process, as test_experiments.py's fixture of the same name."""
    yield from serve(tmp_path, database_url)


def _stuck_task(live: Live, stuck: int, *, ignore_sigterm: bool = False) -> tuple[Client, str]:
    """A project that restarts after a minute without output, and an experiment whose first
    ``stuck`` attempts print once and then hang."""
    client, _ = _project(live)
    client.settings.update({"idle_minutes": 1})
    script = live.shared / "attempt.py"
    script.write_text(ATTEMPT)
    how = "ignore" if ignore_sigterm else "obey"
    made = client.experiments.create(
        f"{PY} {script} {live.shared} {stuck} {how}", options={"restart_if_stuck": True}
    )[0]
    return client, made.id


def _restarted(client: Client, experiment_id: str, times: int) -> ExperimentOut:
    def probe() -> ExperimentOut | None:
        now = client.experiments.get(experiment_id)
        return now if now.restarts >= times else None

    return wait_until(
        probe,
        timeout=RESTART_WAIT,
        interval=0.5,
        message=lambda: f"not restarted {times} time(s): {client.experiments.get(experiment_id)}",
    )


def _ended(client: Client, experiment_id: str) -> ExperimentOut:
    return wait_until(
        lambda: (e := client.experiments.get(experiment_id)).state.terminal and e,
        timeout=RESTART_WAIT,
        interval=0.5,
        message=lambda: f"did not end: {client.experiments.get(experiment_id)}",
    )


def _started_in_log(client: Client, experiment_id: str, number: int) -> str:
    return wait_until(
        lambda: (
            (log := _log_text(client, experiment_id)).count(f"attempt {number} started") and log
        ),
        timeout=RESTART_WAIT,
        interval=0.5,
        message=lambda: f"no start of attempt {number} in: {_log_text(client, experiment_id)}",
    )


def _check_ran_in_turn(client: Client, experiment_id: str, attempts: int, shared: Path) -> None:
    ended = _ended(client, experiment_id)
    log = _log_text(client, experiment_id)
    assert ended.state.value == "success", (ended, log)
    assert ended.restarts == attempts - 1
    assert "overlap" not in log
    for number in range(1, attempts + 1):
        assert log.count(f"attempt {number} started") == 1, log  # each logged, and once
    assert log.count(f"attempt {attempts} done") == 1, log
    assert (shared / "attempts").read_text().split() == [str(n) for n in range(1, attempts + 1)]


def test_a_stuck_task_is_restarted_and_its_second_attempt_runs_to_success(live: Live) -> None:
    client, eid = _stuck_task(live, stuck=1)
    _started_in_log(client, eid, 1)
    restarted = _restarted(client, eid, 1)
    assert "no output for 1 minutes" in (restarted.reason or "")
    _started_in_log(client, eid, 2)
    _check_ran_in_turn(client, eid, 2, live.shared)


@SQLITE_ONLY
def test_a_task_that_ignores_sigterm_is_killed_before_its_restart_runs_twice(
    live: Live,
) -> None:
    client, eid = _stuck_task(live, stuck=2, ignore_sigterm=True)
    _started_in_log(client, eid, 1)
    _restarted(client, eid, 1)
    _started_in_log(client, eid, 2)
    _restarted(client, eid, 2)
    _started_in_log(client, eid, 3)
    _check_ran_in_turn(client, eid, 3, live.shared)


@SQLITE_ONLY
def test_a_task_stuck_while_initializing_is_restarted(live: Live) -> None:
    client, _ = _project(live)
    client.settings.update({"idle_minutes": 1})
    marker = live.shared / "prerun-once"
    # The first prerun.sh hangs silently (the task stays initializing); the next goes on.
    prerun = f"if [ ! -e {marker} ]; then touch {marker}; sleep 600; fi\necho prerun-done\n"
    _push(client, {"prerun.sh": prerun}, live.tmp)
    command = "echo ran-$((40 + 2))"
    eid = client.experiments.create(command, options={"restart_if_stuck": True})[0].id
    _restarted(client, eid, 1)
    ended = _ended(client, eid)
    log = _log_text(client, eid)
    assert (ended.state.value, ended.restarts) == ("success", 1), (ended, log)
    assert log.count("running prerun.sh") == 2, log
    # the first attempt never got past its setup: the command started after the second prerun
    assert log.index(f"$ {command}") > log.rindex("running prerun.sh"), log
    assert log.count("ran-42") == 1, log

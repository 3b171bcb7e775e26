"""Tasks run sandboxed (issue 11, finding 1): a user's command sees nothing of the server home,
of other tasks or of the server user's files, writes only its own folder, and runs unprivileged
in its own PID namespace; a normal task still does everything it did.

Each test runs against a real ``hw server`` with its real local worker, sandbox on. Before the
sandbox every "blocked" probe below read the file (the attack run read ``../../admin.token``).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import make_hw, run_exec
from tests.security.conftest import Ran, Site, log_text
from tests.support.liveserver import free_port, running_server, server_env
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="the sandbox is Linux's (bubblewrap)"),
]
CLIENT_TOKEN = "hw_client_login_token_of_the_admin"


def probe(label: str, path: str) -> str:
    """Shell lines that print ``READ label`` when ``path`` can be read or listed, else
    ``blocked label``."""
    return (
        f'if cat "{path}" >/dev/null 2>&1 || ls "{path}" >/dev/null 2>&1; '
        f"then echo 'READ {label}'; cat \"{path}\" 2>&1 | head -c 200; echo; "
        f"else echo 'blocked {label}'; fi"
    )


def blocked(ran: Ran, labels: list[str]) -> None:
    assert ran.experiment.state.value == "success", ran.log
    said = ran.log.splitlines()
    assert not [line for line in said if line.startswith("READ ")], ran.log
    for label in labels:
        assert f"blocked {label}" in said, ran.log


@pytest.fixture
def user_home(tmp_path: Path) -> Path:
    """The server user's home, with the admin's ``hw login`` in ``~/.headwater`` and an SSH
    key, as on an admin's machine."""
    home = tmp_path / "userhome"
    (home / ".headwater").mkdir(parents=True)
    (home / ".headwater" / "config.json").write_text(f'{{"token": "{CLIENT_TOKEN}"}}\n')
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
    return home


@pytest.fixture
def site_at_home(tmp_path: Path, user_home: Path) -> Iterator[Site]:
    """A server whose user's home is ``user_home``."""
    log = tmp_path / "server.log"
    args = ("--log-level", "warning")
    with running_server(tmp_path / "home", log, *args, HOME=str(user_home)) as srv:
        found = Site(server=srv, tmp=tmp_path)
        yield found
        for client in found.clients:
            client.close()


def test_a_task_sees_nothing_of_the_server_home_nor_of_its_users_files(
    site_at_home: Site, user_home: Path
) -> None:
    site = site_at_home
    home = site.home
    secret = (home / "secret.key").read_text().strip()
    paths = {
        "admin.token": home / "admin.token",
        "secret.key": home / "secret.key",
        "database": home / "headwater.db",
        "socket folder": home / "worker",
        "worker log": home / "logs" / "worker.log",
        "work folders": home / "work",
        "client login": user_home / ".headwater" / "config.json",
        "ssh key": user_home / ".ssh" / "id_ed25519",
        "tilde login": "$HOME/.headwater/config.json",
    }
    lines = [probe(label, str(path)) for label, path in paths.items()]
    lines.append(probe("relative admin.token", "../../admin.token"))
    lines.append(probe("relative secret.key", "../../secret.key"))
    ran = site.run(site.user(), "; ".join(lines))
    blocked(ran, [*paths, "relative admin.token", "relative secret.key"])
    for value in (site.server.admin_token, secret, CLIENT_TOKEN, "PRIVATE KEY"):
        assert value not in ran.log


def test_a_task_cannot_read_another_tasks_folder(site: Site) -> None:
    owner, other = site.user(), site.user()
    first = owner.experiments.create(
        "echo 'the first task wrote this' > mine.txt; echo ready; sleep 60"
    )[0]
    wait_until(lambda: "ready" in log_text(owner, first.id), message="the first task never ran")
    folder = site.home / "work" / first.id
    assert (folder / "mine.txt").exists()  # it is there, outside the sandbox
    lines = [
        probe("by absolute path", str(folder / "mine.txt")),
        probe("by a relative path", f"../{first.id}/mine.txt"),
        probe("the work folder", ".."),
    ]
    ran = site.run(other, "; ".join(lines))
    owner.experiments.stop(first.id)
    blocked(ran, ["by absolute path", "by a relative path", "the work folder"])
    assert "the first task wrote this" not in ran.log


def test_a_task_writes_only_its_own_folder_and_a_private_tmp(site: Site) -> None:
    seen_outside = Path("/tmp") / f"hw-outside-{os.urandom(4).hex()}"
    seen_outside.write_text("the host's /tmp\n")
    inside = f"hw-inside-{os.urandom(4).hex()}"
    platform_bin = os.path.dirname(sys.executable)
    script = "; ".join(
        [
            f"touch /etc/{inside} 2>/dev/null && echo 'WROTE /etc' || echo 'refused /etc'",
            f"touch {platform_bin}/{inside} 2>/dev/null && echo 'WROTE bin' || echo 'refused venv'",
            f"touch {site.home}/{inside} 2>/dev/null && echo 'WROTE home' || echo 'refused home'",
            "echo mine > here.txt && echo 'wrote its folder'",
            f"echo private > /tmp/{inside} && echo 'wrote its tmp'",
            f"test -e {seen_outside} && echo 'SEES host tmp' || echo 'no host tmp'",
        ]
    )
    try:
        ran = site.run(site.user(), script)
    finally:
        seen_outside.unlink()
    assert ran.experiment.state.value == "success", ran.log
    for line in ("refused /etc", "refused venv", "refused home", "wrote its folder"):
        assert line in ran.log
    assert "wrote its tmp" in ran.log
    assert "no host tmp" in ran.log
    assert not Path(f"/tmp/{inside}").exists()
    assert not Path(f"/etc/{inside}").exists()
    assert not Path(platform_bin, inside).exists()


def test_a_task_runs_unprivileged_and_sees_no_other_process(site: Site) -> None:
    server_pid = site.server.process.pid
    script = (
        "echo uid=$(id -u); "
        f"test -e /proc/{server_pid}/cmdline && tr '\\0' ' ' < /proc/{server_pid}/cmdline; "
        "echo pids=$(ls /proc | grep -c '^[0-9]'); "
        "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done"
    )
    ran = site.run(site.user(), script)
    assert ran.experiment.state.value == "success", ran.log
    uid = next(line for line in ran.log.splitlines() if line.startswith("uid="))
    if os.geteuid() == 0:
        assert uid == "uid=65534", ran.log  # the default task uid, never root
    else:
        assert uid == f"uid={os.geteuid()}"
    assert "headwater.cli.main" not in ran.log  # the server's command line
    assert "headwater.runtime.worker" not in ran.log
    pids = int(next(line for line in ran.log.splitlines() if line.startswith("pids="))[5:])
    assert pids < 10, ran.log  # bwrap's init, the shell and its children


def test_a_normal_task_still_reports_tags_metrics_and_outputs(site: Site) -> None:
    client = site.user()
    script = (
        "echo hw_tag_color: blue; "
        "python -c 'import headwater; headwater.Experiment().log_metric(\"loss\", 0.25, step=1)'; "
        "mkdir -p output && echo 42 > output/result.txt"
    )
    ran = site.run(client, script)
    assert ran.experiment.state.value == "success", ran.log
    assert ran.experiment.tags.get("color") == "blue"
    shown = client.experiments.get(ran.experiment.id)
    assert shown.latest_metrics.get("loss") == 0.25
    assert ran.experiment.output_commit is not None
    repo = client.files.repo()
    assert repo.content("output/result.txt", commit=ran.experiment.output_commit) == b"42\n"


def test_the_home_and_its_files_are_its_users_alone(site: Site) -> None:
    site.run(site.user(), "true")  # the worker, its log and its folders exist from now
    home = site.home

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(home) == 0o700
    for name in ("admin.token", "secret.key", "headwater.db", "logs/worker.log"):
        assert mode(home / name) == 0o600, name
    for name in ("work", "cache", "logs", "objects", "worker"):
        assert mode(home / name) == 0o700, name


# -- where bubblewrap is missing -------------------------------------------------------------


def _server(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    port = free_port()
    return subprocess.Popen(
        [sys.executable, "-m", "headwater.cli.main", "server", "--port", str(port), *args],
        env=server_env(tmp_path / "home", port, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_without_bwrap_the_server_refuses_to_start(tmp_path: Path) -> None:
    process = _server(tmp_path, HEADWATER_SANDBOX_BWRAP=str(tmp_path / "no-bwrap"))
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 1, out
    assert "no-bwrap" in out
    assert "--no-sandbox" in out  # the way out, named
    assert not (tmp_path / "home" / "admin.token").exists()  # refused before anything


@pytest.mark.parametrize("off", [("--no-sandbox",), ()])
def test_without_bwrap_no_sandbox_starts_and_says_what_it_leaves_open(
    tmp_path: Path, off: tuple[str, ...]
) -> None:
    env = {"HEADWATER_SANDBOX_BWRAP": str(tmp_path / "no-bwrap")}
    if not off:
        env["HEADWATER_SANDBOX"] = "false"
    log = tmp_path / "server.log"
    with running_server(tmp_path / "home", log, *off, **env) as srv:
        assert httpx.get(f"{srv.url}/healthz").status_code == 200
        text = srv.log_text()
    assert "sandbox is off" in text
    assert "admin.token" in text  # what a task can then read, said


def test_hw_demo_without_bwrap_runs_unsandboxed_with_one_warning_line(tmp_path: Path) -> None:
    hw = make_hw(tmp_path, "newcomer")
    url = f"http://127.0.0.1:{free_port()}"
    home = tmp_path / "demo-home"
    hw.env.update(
        HEADWATER_URL=url,
        HEADWATER_HOME=str(home),
        HEADWATER_SANDBOX_BWRAP=str(tmp_path / "no-bwrap"),
    )
    result = run_exec(("demo", "--exit"), hw.environment(), "")
    assert result.code == 0, result
    warnings = [line for line in result.stdout.splitlines() if "unsandboxed" in line]
    assert len(warnings) == 1, result.stdout
    assert "no-bwrap" in warnings[0]
    assert "Started run 1 of flow 'Iris'" in result.stdout  # and the demo ran to its end
    assert "sandbox is off" in (home / "server.log").read_text()


def test_the_requirements_install_runs_sandboxed_too(site: Site, tmp_path: Path) -> None:
    """A requirement runs its own code as it builds (setup.py): the install is user code."""
    from headwater.client.sync import push_folder

    secret = site.home / "secret.key"
    setup = (
        "try:\n"
        f"    seen = open({str(secret)!r}).read()\n"
        "except OSError as exc:\n"
        "    seen = 'blocked ' + type(exc).__name__\n"
        "raise SystemExit('probe: ' + seen)\n"
    )
    files = {
        "requirements.txt": "./evil\n",
        "evil/pyproject.toml": (
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        ),
        "evil/setup.py": setup,
        "main.py": "print(1)\n",
    }
    folder = tmp_path / "project"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    client = site.user()
    push_folder(client.files.repo(), folder, message="a requirement that probes")
    ran = site.run(client, "python main.py")
    assert ran.experiment.state.value == "failed"
    assert "probe: blocked" in ran.log, ran.log
    assert secret.read_text().strip() not in ran.log


def test_network_off_leaves_the_task_without_network_and_the_runtime_reporting(
    tmp_path: Path,
) -> None:
    log = tmp_path / "server.log"
    env = {"HEADWATER_SANDBOX_NETWORK": "false"}
    with running_server(tmp_path / "home", log, "--log-level", "warning", **env) as srv:
        site = Site(server=srv, tmp=tmp_path)
        try:
            probe = (
                "import urllib.request\n"
                "try:\n"
                f"    urllib.request.urlopen({srv.url + '/healthz'!r}, timeout=5)\n"
                "    print('REACHED the server')\n"
                "except OSError as exc:\n"
                "    print('no network:', type(exc).__name__)\n"
            )
            ran = site.run(site.user(), f'python -c "{probe}"; echo hw_tag_said: yes')
        finally:
            for client in site.clients:
                client.close()
    assert ran.experiment.state.value == "success", ran.log
    said = ran.log.splitlines()
    assert any(line.startswith("no network:") for line in said), ran.log
    assert "REACHED the server" not in said
    assert ran.experiment.tags.get("said") == "yes"  # the runtime, outside, still reports

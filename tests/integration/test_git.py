"""Git integration end to end: real repositories made with ``git`` in tmp folders, linked in a
project's settings, cloned by the runtime of a real server, worker and command.

The private path goes over SSH: a stand-in ``ssh`` on the worker's PATH plays the server side.
It records how git called it (the key file, its mode, the options), accepts only the key it was
given, like an sshd with one authorized key, and then runs git's own ``git-upload-pack`` on a
bare repository, so the clone is a real one over git's SSH transport.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from headwater.client import Client
from headwater.client.sync import push_folder
from headwater.domain.errors import InvalidInput
from headwater.schemas.experiments import ExperimentOut
from tests.integration.test_concurrency import free_port
from tests.integration.test_experiments import Live, _log_text, _start, _stop, _wait
from tests.integration.test_flows import exec_task, flow_yaml, run_flow, task

pytestmark = pytest.mark.slow
PY = sys.executable
GIT_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_AUTHOR_NAME": "Ada",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
}
FAKE_SSH = f"""#!{PY}
import json, os, stat, sys, time
args = sys.argv[1:]
if args[-2].endswith("@slowhost"):  # a host that takes its time: long enough to be stopped
    time.sleep(120)
where = os.environ["FAKE_SSH_DIR"]
record = {{"argv": args, "key": None, "mode": None}}
content = None
if "-i" in args:
    record["key"] = args[args.index("-i") + 1]
    record["mode"] = oct(stat.S_IMODE(os.stat(record["key"]).st_mode))
    content = open(record["key"]).read()
with open(os.path.join(where, "calls.jsonl"), "a") as out:
    out.write(json.dumps(record) + "\\n")
if content != open(os.path.join(where, "authorized_key")).read():
    sys.stderr.write(args[-2] + ": Permission denied (publickey).\\r\\n")
    sys.exit(255)
os.chdir(os.path.join(where, "root"))
os.execvp("sh", ["sh", "-c", args[-1]])
"""
KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBhZGEncyBkZXBsb3kga2V5IGZvciB0aGUgdGVzdHMgb25seSEhISEhISEh\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
# What the command reports: the files it sees, VERSION, the checkout's sha, its depth, and an
# output file (the only thing that becomes an artifact).
LOOK = "python -c " + shlex.quote(
    textwrap.dedent("""
    import os, subprocess
    files = sorted(p for p in os.listdir(".") if p not in (".git", "output"))
    print("files", files)
    print("VERSION=" + open("VERSION").read().strip())
    sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    print("head", sha.strip())
    shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"],
                             capture_output=True, text=True).stdout
    print("shallow", shallow.strip())
    os.makedirs("output", exist_ok=True)
    open("output/seen.txt", "w").write(" ".join(files))
    """).strip()
)


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


@dataclass
class Origin:
    """A bare repository: master with two commits, dev branched from the first."""

    bare: Path
    first: str
    second: str
    dev: str


def make_origin(where: Path) -> Origin:
    work = where / "work"
    work.mkdir(parents=True)
    git("init", "-q", "-b", "master", cwd=work)
    (work / "VERSION").write_text("1\n")
    (work / "train.py").write_text("print('training')\n")
    (work / "prerun.sh").write_text("echo prerun-from-git > output-marker.txt\n")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    first = git("rev-parse", "HEAD", cwd=work)
    git("checkout", "-q", "-b", "dev", cwd=work)
    (work / "dev.txt").write_text("only on dev\n")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "dev work", cwd=work)
    dev = git("rev-parse", "HEAD", cwd=work)
    git("checkout", "-q", "master", cwd=work)
    (work / "VERSION").write_text("2\n")
    git("commit", "-q", "-am", "second", cwd=work)
    second = git("rev-parse", "HEAD", cwd=work)
    bare = where / "origin.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=where)
    return Origin(bare, first, second, dev)


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Origin:
    return make_origin(tmp_path_factory.mktemp("origin"))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, origin: Origin) -> Iterator[Live]:
    """`hw server` on SQLite whose worker finds the stand-in ssh first on its PATH."""
    tmp = tmp_path_factory.mktemp("git")
    bin_dir, ssh_dir = tmp / "bin", tmp / "ssh"
    bin_dir.mkdir()
    (ssh_dir / "root" / "team").mkdir(parents=True)
    (bin_dir / "ssh").write_text(FAKE_SSH)
    (bin_dir / "ssh").chmod(0o755)
    (ssh_dir / "authorized_key").write_text(KEY)
    git("clone", "-q", "--bare", str(origin.bare), str(ssh_dir / "root/team/model.git"), cwd=tmp)
    home, port, log = tmp / "home", free_port(), tmp / "server.log"
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    process = _start(home, port, log, None, PATH=path, FAKE_SSH_DIR=str(ssh_dir))
    token = (home / "admin.token").read_text().strip()
    server = Live(home, f"http://127.0.0.1:{port}", port, token, process, log, tmp)
    yield server
    _stop(server)


def project(live: Live, repo: str | None = None, **git_settings: object) -> Client:
    admin = live.client()
    made = admin.projects.create(f"git-{os.urandom(3).hex()}")
    admin.close()
    client = live.client(made.id)
    if repo is not None:
        client.settings.update({"git": {"repo": repo, **git_settings}})
    return client


def calls(live: Live) -> list[dict[str, object]]:
    lines = (live.tmp / "ssh" / "calls.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def seen(client: Client, exp: ExperimentOut) -> str:
    log = _log_text(client, exp.id)
    assert exp.state.value == "success", log
    return log


def test_a_linked_repo_is_cloned_instead_of_the_projects_files(live: Live, origin: Origin) -> None:
    client = project(live, str(origin.bare))
    folder = live.tmp / f"synced-{os.urandom(3).hex()}"
    folder.mkdir()
    (folder / "synced.txt").write_text("from hw sync\n")
    push_folder(client.files.repo(), folder, message="synced files a Git job must not see")
    made = client.experiments.create(LOOK)
    assert made[0].start_commit is None  # it starts from the clone, not a files version
    exp = _wait(client, made)[0]
    log = seen(client, exp)
    assert "files ['VERSION', 'output-marker.txt', 'prerun.sh', 'train.py']" in log
    assert "VERSION=2" in log
    assert f"head {origin.second}" in log
    assert "shallow true" in log or "shallow false" in log  # a plain path: git copies
    assert exp.tags["git_commit"] == origin.second
    assert exp.tags["git_branch"] == "master"
    assert f"checked out {origin.second}" in log
    # only the output folder is synced: the branch holds the outputs, not the clone
    assert exp.output_commit is not None
    paths = {e.path for e in client.files.repo().tree(exp.output_commit).entries}
    assert paths == {"output/seen.txt"}
    content = client.files.repo().content("output/seen.txt", commit=exp.output_commit)
    assert content.decode() == "VERSION output-marker.txt prerun.sh train.py"


def test_a_branch_is_cloned_shallow_and_a_commit_exactly(live: Live, origin: Origin) -> None:
    client = project(live, f"file://{origin.bare}")
    on_dev = client.experiments.create(LOOK, git_branch="dev")[0]
    pinned = client.experiments.create(LOOK, git_commit=origin.first)[0]
    short = client.experiments.create(LOOK, git_branch="dev", git_commit=origin.dev[:10])[0]
    done = {e.id: e for e in _wait(client, [on_dev, pinned, short])}
    log = seen(client, done[on_dev.id])
    assert "files ['VERSION', 'dev.txt', 'output-marker.txt', 'prerun.sh', 'train.py']" in log
    assert f"head {origin.dev}" in log
    assert "shallow true" in log  # --depth 1 for a branch
    assert done[on_dev.id].tags["git_branch"] == "dev"
    log = seen(client, done[pinned.id])
    assert "VERSION=1" in log
    assert "shallow false" in log  # the history, to find the commit
    assert done[pinned.id].tags["git_commit"] == origin.first
    log = seen(client, done[short.id])
    assert done[short.id].tags == {"git_commit": origin.dev, "git_branch": "dev"}


def test_failed_clones_fail_before_the_command_saying_what_and_how(
    live: Live, origin: Origin
) -> None:
    empty = live.tmp / f"empty-{os.urandom(3).hex()}.git"
    git("init", "-q", "--bare", str(empty), cwd=live.tmp)
    linked = project(live, str(origin.bare))
    missing = project(live, str(live.tmp / "no-such-repo.git"))
    nothing = project(live, str(empty))
    command = "echo THE-COMMAND-RAN"
    cases = {
        "branch": (linked, linked.experiments.create(command, git_branch="nope")[0]),
        "commit": (linked, linked.experiments.create(command, git_commit="0" * 40)[0]),
        "url": (missing, missing.experiments.create(command)[0]),
        "empty": (nothing, nothing.experiments.create(command)[0]),
    }
    ended = {k: _wait(c, [e])[0] for k, (c, e) in cases.items()}
    logs = {k: _log_text(c, e.id) for k, (c, e) in cases.items()}
    for kind, exp in ended.items():
        assert exp.state.value == "failed", (kind, logs[kind])
        assert exp.exit_code is None
        assert "THE-COMMAND-RAN" not in logs[kind]
        assert "git_commit" not in exp.tags
    assert ended["branch"].reason is not None
    assert "the branch 'nope' is not in the Git repository" in ended["branch"].reason
    assert "--git-branch" in ended["branch"].reason
    assert "git: fatal: Remote branch nope not found" in logs["branch"]
    assert f"the commit {'0' * 40} is not in the Git repository" in (ended["commit"].reason or "")
    assert "was not found" in (ended["url"].reason or "")
    assert "check the link in Settings > Git" in (ended["url"].reason or "")
    assert "git: fatal: repository" in logs["url"]
    assert "does not exist" in logs["url"]
    assert "is empty" in (ended["empty"].reason or "")
    assert "push a first commit" in (ended["empty"].reason or "")


def test_git_fields_without_a_linked_repo_are_a_422_and_store_nothing(
    live: Live, origin: Origin
) -> None:
    client = project(live)
    for field, value in (("git_branch", "dev"), ("git_commit", origin.first)):
        with pytest.raises(InvalidInput) as caught:
            client.experiments.create("echo x", **{field: value})  # type: ignore[arg-type]
        assert caught.value.where == field
        assert "not linked to a Git repository" in caught.value.detail
        assert "git.repo=" in (caught.value.hint or "")
    raw = httpx.post(
        f"{live.url}/api/v1/projects/{client.config.project}/experiments",
        json={"command": "echo x", "git_branch": "dev"},
        headers={"Authorization": f"Bearer {live.token}"},
    )
    assert raw.status_code == 422, raw.text
    assert raw.json()["where"] == "git_branch"
    assert client.experiments.list().total == 0

    linked = project(live, str(origin.bare))
    with pytest.raises(InvalidInput) as caught:
        linked.experiments.create("echo x", commit="abc1234")
    assert caught.value.where == "commit"
    assert "git_commit" in (caught.value.hint or "")
    with pytest.raises(InvalidInput) as caught:
        linked.experiments.create("echo x", git_branch="a..b")
    assert caught.value.where == "git_branch"
    assert linked.experiments.list().total == 0


def test_a_private_repo_is_read_over_ssh_with_the_projects_key(live: Live) -> None:
    client = project(live, "git@fakehost:team/model.git", private=True)
    client.keys.set("git", "deploy-key", KEY.rstrip("\n"))  # as `hw keys set` stores it
    before = len(calls(live)) if (live.tmp / "ssh" / "calls.jsonl").exists() else 0
    exp = _wait(client, client.experiments.create(LOOK + "; env | grep -c GIT_SSH || true"))[0]
    log = seen(client, exp)
    assert "VERSION=2" in log
    assert "\n0\n" in log  # the command's environment holds no GIT_SSH_COMMAND
    made = calls(live)[before:]
    assert made, "git never called ssh"
    for call in made:
        argv = [str(a) for a in call["argv"]]  # type: ignore[attr-defined]
        assert call["mode"] == "0o600"
        assert "StrictHostKeyChecking=accept-new" in argv
        assert "BatchMode=yes" in argv
        assert argv[-2] == "git@fakehost"
        assert "git-upload-pack" in argv[-1]
        assert not Path(str(call["key"])).exists()  # removed once the clone ended
        assert not Path(str(call["key"])).parent.exists()
    assert "b3BlbnNzaC1rZXkt" not in log
    assert "BEGIN OPENSSH" not in log


def test_a_private_repo_with_a_wrong_or_missing_key_fails_plainly(live: Live) -> None:
    wrong = project(live, "git@fakehost:team/model.git", private=True)
    other = KEY.replace("AACBhZGEncyBk", "AACBib2IncyBk")  # another key: bob's, not ada's
    assert other != KEY
    wrong.keys.set("git", "old-key", other)
    keyless = project(live, "git@fakehost:team/model.git", private=True)
    public = project(live, "git@fakehost:team/model.git")
    cases = {
        "wrong": (wrong, wrong.experiments.create("echo THE-COMMAND-RAN")[0]),
        "keyless": (keyless, keyless.experiments.create("echo THE-COMMAND-RAN")[0]),
        "public": (public, public.experiments.create("echo THE-COMMAND-RAN")[0]),
    }
    ended = {k: _wait(c, [e])[0] for k, (c, e) in cases.items()}
    logs = {k: _log_text(c, e.id) for k, (c, e) in cases.items()}
    for kind, exp in ended.items():
        assert exp.state.value == "failed", (kind, logs[kind])
        assert "THE-COMMAND-RAN" not in logs[kind]
    assert "refused access" in (ended["wrong"].reason or "")
    assert "hw keys set git" in (ended["wrong"].reason or "")
    assert "git: git@fakehost: Permission denied (publickey)." in logs["wrong"]
    assert "AACBib2IncyBk" not in logs["wrong"]
    assert "marked private, but the project has no git key" in (ended["keyless"].reason or "")
    assert "tick private" in (ended["public"].reason or "")


def test_a_flow_runs_its_tasks_on_their_git_branch_and_commit(live: Live, origin: Origin) -> None:
    client = project(live, f"file://{origin.bare}")
    build = exec_task("Build", LOOK, git_branch="dev")
    pinned = exec_task(
        "Pinned",
        LOOK + "; cat input/build/seen.txt; echo",
        git_commit=origin.first,
    )
    run = run_flow(client, flow_yaml("GitFlow", [build, pinned], [("Build", "Pinned")]))
    assert run.status == "success", [(t.title, t.status, t.reason) for t in run.tasks]
    first = client.experiments.get(task(run, "Build").instances[0].experiment_id or "")
    second = client.experiments.get(task(run, "Pinned").instances[0].experiment_id or "")
    assert first.tags["git_commit"] == origin.dev
    assert first.tags["git_branch"] == "dev"
    assert second.tags["git_commit"] == origin.first
    log = seen(client, second)
    assert "VERSION=1" in log
    # the parent's artifacts come in as inputs, next to the clone
    assert "VERSION dev.txt output-marker.txt prerun.sh train.py" in log
    assert "files ['VERSION', 'input', 'output-marker.txt', 'prerun.sh', 'train.py']" in log
    paths = {e.path for e in client.files.repo().tree(second.output_commit or "").entries}
    assert paths == {"output/seen.txt"}


def test_a_flow_task_with_git_keys_is_refused_when_nothing_is_linked(live: Live) -> None:
    client = project(live)
    tasks = [exec_task("Pinned", "echo x", git_branch="dev")]
    run = run_flow(client, flow_yaml("NoRepo", tasks, []))
    pinned = task(run, "Pinned")
    assert pinned.status == "failed"
    assert "task 'Pinned' sets git_branch, but the project is not linked" in (pinned.reason or "")
    assert "tasks.Pinned.git_branch" in (pinned.reason or "")
    assert pinned.instances == []


def test_a_deploy_task_with_git_keys_is_still_refused_saying_so(live: Live, origin: Origin) -> None:
    client = project(live, str(origin.bare))
    deploy = {
        "title": "Serve",
        "type": "deploy",
        "endpoint_title": "git-model",
        "computes": ["default"],
        "file_name": "predict.py",
        "function_name": "predict",
        "min_replica": 1,
        "max_replica": 1,
        "git_branch": "dev",
    }
    run = run_flow(client, flow_yaml("GitDeploy", [deploy], []))
    serve = task(run, "Serve")
    assert serve.status == "failed"
    assert "git_branch is not supported yet on this server (on deploy tasks" in (serve.reason or "")
    assert "remove it from task 'Serve'" in (serve.reason or "")


def test_a_stop_during_the_clone_ends_git_and_the_task(live: Live) -> None:
    client = project(live, "git@slowhost:team/model.git")
    exp = client.experiments.create("echo THE-COMMAND-RAN")[0]
    deadline = time.monotonic() + 30
    while "cloning the Git repository" not in _log_text(client, exp.id):
        assert time.monotonic() < deadline, "the clone never started"
        time.sleep(0.2)
    time.sleep(0.5)  # git is waiting on the slow host now
    stopped_at = time.monotonic()
    client.experiments.stop(exp.id)
    ended = _wait(client, [exp], timeout=30)[0]
    assert ended.state.value == "aborted", _log_text(client, exp.id)
    assert time.monotonic() - stopped_at < 20  # not the host's 120 s
    assert "THE-COMMAND-RAN" not in _log_text(client, exp.id)

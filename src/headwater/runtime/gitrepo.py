"""A task's files from the project's linked Git repository (seed 000, Git Integration).

When the spec names a checkout, the task's folder is a clone of it instead of the project's
synced files; everything after (datasets, inputs, requirements.txt, prerun.sh, the command, the
output folder committed on the experiment's branch) is as for any task. A branch is cloned with
``--depth 1``; a commit needs the history, so the clone is full and the commit checked out.

A private repository is read with the project's ``git`` key: written to a 0600 file in a 0700
temporary folder for the clone's ``GIT_SSH_COMMAND`` only, and removed when the clone ends. The
key never reaches the log or the task's command; git's messages are logged with it (and any
password in a URL) masked. A clone that fails fails the task before its command, saying what
failed and how to fix it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from headwater.domain.masking import MASK, mask, masked_values
from headwater.runtime.reporting import TaskApi, patiently
from headwater.runtime.workspace import LogSink, SetupFailed
from headwater.schemas.experiments import GitCheckout

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][\w+.-]*://)[^/@\s]+@")
SETTINGS = "Settings > Git (or `hw settings set git.repo=URL git.branch=BRANCH`)"
KEY_HOWTO = (
    "`hw keys set git --key-id NAME < KEYFILE` with the SSH private key (no passphrase) "
    "whose public key the repository accepts"
)


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every line of each secret, and any password in a URL, masked."""
    text = mask(text, masked_values(secrets))
    return _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)


def key_text(key: str) -> str:
    """The key as OpenSSH reads it: LF line ends and a final newline (a key pasted into a
    form or piped through ``hw keys set`` loses it, and ssh then calls the key invalid)."""
    text = key.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return text + "\n"


@dataclass(frozen=True)
class Failure:
    """Why a clone failed, in the user's terms: what, and how to fix it."""

    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.what}: {self.fix} (git's message is in the log)"


def explain(stderr: str, git: GitCheckout, *, empty: bool = False) -> Failure:
    """What git's ``stderr`` means for a clone of ``git`` (``empty``: the repository was
    found to have no branch at all)."""
    repo = redact(git.repo, [])
    low = stderr.lower()
    if empty:
        return Failure(
            f"the Git repository {repo} is empty",
            "push a first commit to it (a repository with no commits cannot be cloned)",
        )
    if "remote branch" in low and "not found" in low:
        return Failure(
            f"the branch {git.branch!r} is not in the Git repository {repo}",
            f"push it, or choose a branch that exists: {SETTINGS}, `hw run --git-branch`, "
            "or git_branch in the flow",
        )
    bad_key = ("load key", "invalid format", "error in libcrypto", "bad permissions")
    if any(s in low for s in bad_key):
        return Failure(
            "the project's git key is not a usable SSH private key",
            f"set it again with {KEY_HOWTO}, BEGIN and END lines included",
        )
    not_found = (
        "repository not found",
        "does not appear to be a git repository",
        "does not exist",
        "could not resolve host",
        "not found",
        "no such file or directory",
    )
    if any(s in low for s in not_found):
        return Failure(
            f"the Git repository {repo} was not found",
            f"check the link in {SETTINGS}",
        )
    denied = (
        "permission denied",
        "host key verification failed",
        "authentication failed",
        "could not read username",
        "could not read from remote repository",
        "access denied",
    )
    if any(s in low for s in denied):
        if git.private:
            fix = f"check the project's git key: {KEY_HOWTO}"
        else:
            fix = f"if it is private, tick private in {SETTINGS} and set the key with {KEY_HOWTO}"
        return Failure(f"the Git repository {repo} refused access", fix)
    return Failure(
        f"cloning the Git repository {repo} failed",
        f"check the link and branch in {SETTINGS}",
    )


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "HW_"))}
    env["GIT_TERMINAL_PROMPT"] = "0"  # a missing credential fails, never waits for a person
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


@contextlib.contextmanager
def git_env(git: GitCheckout, known_hosts: Path) -> Iterator[dict[str, str]]:
    """The environment git runs in: ssh in batch mode, host keys accepted the first time and
    checked after (kept in ``known_hosts``), and the project's key for a private repository,
    in a file that exists only while this context is open."""
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    options = [
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=30",  # a host that never answers fails the task, not hangs it
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        f"UserKnownHostsFile={known_hosts}",
    ]
    folder: str | None = None
    try:
        if git.private and git.key:
            folder = tempfile.mkdtemp(prefix="hw-git-")  # 0700: only this user lists it
            keyfile = os.path.join(folder, "key")
            fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(key_text(git.key))
            options = ["-i", keyfile, "-o", "IdentitiesOnly=yes", *options]
        env = _base_env()
        env["GIT_SSH_COMMAND"] = " ".join(["ssh", *(shlex.quote(o) for o in options)])
        yield env
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


class _Git:
    """Runs git commands of one clone, each in its own process group, told to ``on_process``
    so a stop ends it. Each has ended (ssh with it) when the call returns: nothing of it is
    left for the task's end to clean up."""

    def __init__(self, env: dict[str, str], on_process: Callable[[int], None] | None) -> None:
        self.env = env
        self.on_process = on_process

    def __call__(self, *args: str, cwd: Path | None = None) -> tuple[int, str, str]:
        process = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        if self.on_process is not None:
            self.on_process(process.pid)
        out, err = process.communicate()
        return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def clone_linked(
    api: TaskApi,
    git: GitCheckout,
    root: Path,
    cache_root: Path,
    log: LogSink,
    on_process: Callable[[int], None] | None = None,
) -> str:
    """Clone ``git`` into ``root`` (emptied first), record the commit on the experiment as
    the tags ``git_commit`` and ``git_branch``, and return the commit's sha."""
    repo = redact(git.repo, [])
    if git.private and not git.key:
        raise SetupFailed(
            f"the Git repository {repo} is marked private, but the project has no git key: "
            f"set it with {KEY_HOWTO}, or untick private in {SETTINGS}"
        )
    secrets = [git.key] if git.key else []
    where = f"{git.branch} at {git.commit}" if git.commit else git.branch
    log.system(f"cloning the Git repository {repo} ({where})")
    if root.exists():
        shutil.rmtree(root)  # what an earlier attempt left: git clones into an empty folder
    root.parent.mkdir(parents=True, exist_ok=True)
    with git_env(git, cache_root / "ssh" / "known_hosts") as env:
        run = _Git(env, on_process)

        def fail(stderr: str, *, empty: bool = False) -> SetupFailed:
            for line in redact(stderr, secrets).strip().splitlines():
                log.system(f"git: {line}")
            return SetupFailed(str(explain(stderr, git, empty=empty)))

        if git.commit is None:
            shallow = ["--depth", "1", "--single-branch"]
            code, _, err = run("clone", *shallow, "--branch", git.branch, "--", git.repo, str(root))
        else:  # a commit needs the history: every branch, then the commit checked out
            code, _, err = run(
                "clone", "--no-checkout", "--branch", git.branch, "--", git.repo, str(root)
            )
        if code != 0:
            empty = False
            if "remote branch" in err.lower():
                listed, heads, _ = run("ls-remote", "--heads", "--", git.repo)
                empty = listed == 0 and not heads.strip()
            raise fail(err, empty=empty)
        if git.commit is not None:
            code, _, err = run("checkout", "-q", "--detach", git.commit, cwd=root)
            if code != 0:  # not on any branch: the server may still give it by its sha
                fetched, _, _ = run("fetch", "-q", "origin", git.commit, cwd=root)
                if fetched == 0:
                    code, _, err = run("checkout", "-q", "--detach", "FETCH_HEAD", cwd=root)
            if code != 0:
                for line in redact(err, secrets).strip().splitlines():
                    log.system(f"git: {line}")
                raise SetupFailed(
                    f"the commit {git.commit} is not in the Git repository {repo}: give the "
                    "sha of a pushed commit (`git log --format=%H` in a clone) as "
                    "--git-commit or git_commit"
                )
        code, out, err = run("rev-parse", "HEAD", cwd=root)
        if code != 0:
            raise fail(err)
    sha = out.strip()
    log.system(f"checked out {sha} of {repo} ({git.branch})")
    http, path = api.http, f"{api.base}/values"
    tags = {"git_commit": sha, "git_branch": git.branch}
    patiently(lambda: http.request("POST", path, json={"kind": "tag", "values": tags}))
    return sha

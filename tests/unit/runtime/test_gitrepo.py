"""The clone's pure parts: masking secrets in git's words, the key as ssh reads it, what a
failure means for the user, and the key file that exists only while git runs."""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

import pytest

from headwater.runtime.gitrepo import MASK, explain, git_env, key_text, redact
from headwater.schemas.experiments import GitCheckout

KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDxV0n4dSecretLineNumberTwoxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
    "-----END OPENSSH PRIVATE KEY-----"
)
PRIVATE = GitCheckout(repo="git@example.com:team/m.git", branch="main", private=True, key=KEY)
PUBLIC = GitCheckout(repo="https://example.com/team/m.git", branch="dev")


def test_every_line_of_the_key_and_a_url_password_are_masked() -> None:
    line = KEY.splitlines()[1]
    text = (
        f"fatal: could not read {line}\n"
        "fatal: unable to access 'https://bob:s3cr3t-token@example.com/x.git/': 403\n"
    )
    masked = redact(text, [KEY])
    assert "b3BlbnNzaC1" not in masked
    assert "s3cr3t-token" not in masked
    assert f"https://{MASK}@example.com/x.git/" in masked
    assert masked.count(MASK) == 2


def test_the_key_gets_lf_line_ends_and_a_final_newline() -> None:
    assert key_text(KEY.replace("\n", "\r\n")) == KEY + "\n"
    assert key_text(KEY + "\n\n") == KEY + "\n"


@pytest.mark.parametrize(
    ("stderr", "git", "what", "fix"),
    [
        (
            "warning: Could not find remote branch dev to clone.\n"
            "fatal: Remote branch dev not found in upstream origin\n",
            PUBLIC,
            "the branch 'dev' is not in the Git repository",
            "--git-branch",
        ),
        (
            "git@example.com: Permission denied (publickey).\n"
            "fatal: Could not read from remote repository.\n",
            PRIVATE,
            "refused access",
            "hw keys set git",
        ),
        (
            "git@example.com: Permission denied (publickey).\n",
            PRIVATE.model_copy(update={"private": False, "key": None}),
            "refused access",
            "tick private",
        ),
        (
            'Load key "/tmp/hw-git-x/key": invalid format\n'
            "git@example.com: Permission denied (publickey).\n",
            PRIVATE,
            "not a usable SSH private key",
            "BEGIN and END lines",
        ),
        (
            "fatal: '/srv/nothing.git' does not appear to be a git repository\n",
            PUBLIC,
            "was not found",
            "Settings > Git",
        ),
        ("fatal: something odd\n", PUBLIC, "failed", "Settings > Git"),
    ],
)
def test_a_failure_says_what_failed_and_how_to_fix_it(
    stderr: str, git: GitCheckout, what: str, fix: str
) -> None:
    failure = explain(stderr, git)
    assert what in failure.what
    assert fix in failure.fix
    assert "git's message is in the log" in str(failure)


def test_an_empty_repository_is_named_as_such() -> None:
    failure = explain("fatal: Remote branch main not found in upstream origin", PUBLIC, empty=True)
    assert "is empty" in failure.what
    assert "push a first commit" in failure.fix


def test_a_url_password_never_reaches_the_message() -> None:
    git = PUBLIC.model_copy(update={"repo": "https://bob:tok3n@example.com/x.git"})
    assert "tok3n" not in str(explain("fatal: nope", git))


def test_the_key_file_is_0600_in_a_private_folder_and_gone_afterwards(tmp_path: Path) -> None:
    with git_env(PRIVATE, tmp_path / "ssh" / "known_hosts") as env:
        argv = shlex.split(env["GIT_SSH_COMMAND"])
        keyfile = Path(argv[argv.index("-i") + 1])
        assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
        assert stat.S_IMODE(keyfile.parent.stat().st_mode) == 0o700
        assert keyfile.read_text() == KEY + "\n"
        assert "StrictHostKeyChecking=accept-new" in argv
        assert "BatchMode=yes" in argv
        assert "ConnectTimeout=30" in argv
        assert f"UserKnownHostsFile={tmp_path / 'ssh' / 'known_hosts'}" in argv
        assert env["GIT_TERMINAL_PROMPT"] == "0"
        assert KEY not in "".join(env.values())
    assert not keyfile.exists()
    assert not keyfile.parent.exists()


def test_the_key_file_is_removed_when_git_fails_too(tmp_path: Path) -> None:
    seen: list[Path] = []

    def clone_that_fails() -> None:
        with git_env(PRIVATE, tmp_path / "kh") as env:
            argv = shlex.split(env["GIT_SSH_COMMAND"])
            seen.append(Path(argv[argv.index("-i") + 1]))
            raise RuntimeError("git failed")

    with pytest.raises(RuntimeError):
        clone_that_fails()
    assert seen
    assert not seen[0].exists()


def test_a_public_repository_gets_no_key_and_no_platform_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER_TOKEN", "task-token")
    with git_env(PUBLIC, tmp_path / "kh") as env:
        assert "-i" not in shlex.split(env["GIT_SSH_COMMAND"])
        assert "HEADWATER_TOKEN" not in env
        assert os.environ["HEADWATER_TOKEN"] == "task-token"

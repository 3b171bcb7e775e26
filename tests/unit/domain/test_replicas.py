"""A replica's command, and the endpoint's status from its versions' replicas."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from headwater.domain.endpoints import EndpointStatus
from headwater.domain.errors import InvalidInput
from headwater.domain.replicas import VersionView, endpoint_status, replica_command, replica_title

S = EndpointStatus


def test_the_command_serves_the_file_on_the_socket_the_runtime_names() -> None:
    command = replica_command({"function_name": "predict"}, "output/my model.py")
    assert command == (
        "exec python -m headwater.serving --file 'output/my model.py' --function predict "
        '--socket "$HW_REPLICA_SOCKET" --ready-file "$HW_REPLICA_READY"'
    )
    assert replica_title("churn") == "endpoint:churn"


def test_accept_files_and_config_vars_reach_the_command_quoted() -> None:
    definition = {
        "function_name": "f",
        "accept_files": True,
        "config_vars": ["GREETING=it's $HOME; rm -rf /", "N=1"],
    }
    command = replica_command(definition, "p.py")
    first, second = command.split("\n")
    assert "--accept-files" in second
    # the shell sees the values as written: no expansion, no second command
    shown = subprocess.run(
        ["/bin/sh", "-c", f'{first}\nprintf "%s|%s" "$GREETING" "$N"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout == "it's $HOME; rm -rf /|1"
    assert shlex.split(second)[0] == "exec"


def test_config_vars_that_the_runtime_owns_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        replica_command({"function_name": "f", "config_vars": ["HW_REPLICA_SOCKET=/x"]}, "p.py")
    assert caught.value.where == "config_vars[0]"


def view(ready: int, wanted: int = 1, *, canary: bool = False, traffic: int = 100) -> VersionView:
    return VersionView(traffic=traffic, wanted=wanted, ready=ready, canary=canary)


@pytest.mark.parametrize(
    ("current", "serving", "failed", "expected"),
    [
        ("deploying", [view(0)], False, S.DEPLOYING),  # the first replica is starting
        ("deploying", [view(1)], False, S.RUNNING),
        ("running", [view(1, 2)], False, S.DEGRADED),  # scaled up, one still starting
        ("running", [view(0)], False, S.DEGRADED),  # its only replica died
        ("degraded", [view(2, 2)], False, S.RUNNING),
        # a canary starting beside a live version that serves: a deploy in progress
        ("running", [view(1), view(0, canary=True, traffic=0)], False, S.DEPLOYING),
        ("deploying", [view(1), view(1, canary=True, traffic=10)], False, S.RUNNING),
        ("deploying", [], True, S.FAILED),  # every version failed
        ("defined", [], False, S.DEFINED),
    ],
)
def test_the_status_follows_the_ready_replicas(
    current: str, serving: list[VersionView], failed: bool, expected: EndpointStatus
) -> None:
    got = endpoint_status(current, desired="running", serving=serving, failed=failed)
    assert got is expected


def test_a_stopped_endpoint_is_stopped_whatever_its_replicas_do() -> None:
    got = endpoint_status("running", desired="stopped", serving=[view(1)], failed=False)
    assert got is S.STOPPED


def test_a_replica_is_given_the_gateways_body_limit() -> None:
    command = replica_command({"function_name": "f"}, "p.py", max_body=1234)
    assert "--max-body 1234" in command
    assert "--max-body" not in replica_command({"function_name": "f"}, "p.py")

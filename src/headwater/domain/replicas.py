"""Replicas as tasks: the command a replica's task runs, and the endpoint's status from what
its versions' replicas are doing. The serving controller (``engine/serving.py``) applies them.

A replica is an experiment titled ``endpoint:<title>`` whose command runs
``python -m headwater.serving`` on the socket the runtime names (``HW_REPLICA_SOCKET``, in its
task folder); ``config_vars`` are exported first, as a live job's ``env``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headwater.domain.endpoints import EndpointStatus, parse_config_vars

TITLE_PREFIX = "endpoint:"
# Replicas of a version that ended before they ever got ready: this many and the version has
# failed (its function does not load, its requirements do not install...), rather than being
# restarted for ever.
START_FAILURES = 3


def replica_title(endpoint_title: str) -> str:
    return TITLE_PREFIX + endpoint_title


def replica_command(
    definition: Mapping[str, Any], file: str, *, max_body: int | None = None
) -> str:
    """The shell command of a replica serving ``definition``'s function from ``file``;
    ``max_body``: the gateway's body limit, so both ends refuse the same bodies."""
    argv = [
        "python",
        "-m",
        "headwater.serving",
        "--file",
        file,
        "--function",
        str(definition["function_name"]),
    ]
    if definition.get("accept_files"):
        argv.append("--accept-files")
    if max_body is not None:
        argv += ["--max-body", str(max_body)]
    line = shlex.join(argv) + ' --socket "$HW_REPLICA_SOCKET" --ready-file "$HW_REPLICA_READY"'
    env = parse_config_vars(definition.get("config_vars", []))
    if not env:
        return f"exec {line}"
    pairs = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    return f"export {pairs}\nexec {line}"


@dataclass(frozen=True)
class VersionView:
    """A version that should serve, as the controller sees it this tick."""

    traffic: int  # percent
    wanted: int  # replicas it should have
    ready: int  # replicas that reported their address
    canary: bool


def endpoint_status(
    current: str,
    *,
    desired: str,
    serving: Sequence[VersionView],
    failed: bool,
) -> EndpointStatus:
    """What the endpoint's status is now.

    Stopped when asked; failed when no version can serve (each failed); deploying while a
    version with traffic, or a canary, has no ready replica yet and the endpoint never ran
    (or runs a rollout); degraded when a version that served has fewer ready replicas than
    wanted; running otherwise."""
    if desired == "stopped":
        return EndpointStatus.STOPPED
    if not serving:
        return EndpointStatus.FAILED if failed else EndpointStatus(current)
    starting = any(v.ready == 0 for v in serving)
    had_run = current in (EndpointStatus.RUNNING.value, EndpointStatus.DEGRADED.value)
    live_down = any(v.ready == 0 and not v.canary for v in serving)
    if starting and (not had_run or not live_down):
        return EndpointStatus.DEPLOYING
    if any(v.ready < v.wanted for v in serving):
        return EndpointStatus.DEGRADED
    return EndpointStatus.RUNNING

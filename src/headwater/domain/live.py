"""Live mode (seed 003): ``.headwater/live.yaml`` names jobs a user starts, watches and kills
by name (``hw live run train``), such as a training run or a Jupyter server.

A live job runs as an experiment titled ``live:<job>``, so the experiments API, the engine and
their logs serve it unchanged; this module owns the file's rules and the status vocabulary
(neuro-flow's ``unknown, pending, running, cancelled, succeeded, failed``). Every problem in
the file is named by ``FILE:LINE key`` with a hint, all of them in one error.

    spec = parse_live(text, source=".headwater/live.yaml")
    job = spec.job("train")
    job.shell_command()      # the command with the job's env exported
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from headwater.domain.errors import NotFound
from headwater.domain.flowspec.source import FlowSpecError, Path, Problem, SourceMap, load
from headwater.domain.jobs import JobState

LIVE_DIR = ".headwater"
LIVE_FILE = "live.yaml"
TITLE_PREFIX = "live:"
HTTP_PORT_ENV = "HW_HTTP_PORT"
# Keys a job may set that the local executor cannot honour yet: a run warns about each.
LOCAL_UNSUPPORTED = ("image", "volumes")

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOP_KEYS = ("kind", "jobs")
_JOB_KEYS = (
    "cmd",
    "command",
    "image",
    "preset",
    "compute",
    "env",
    "volumes",
    "http_port",
    "detach",
)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_SKELETON = "kind: live\njobs:\n  train:\n    cmd: python train.py"


class LiveStatus(StrEnum):
    """What ``hw live ps`` shows for a job: its latest run's state, in neuro-flow's words."""

    UNKNOWN = "unknown"  # never run
    PENDING = "pending"
    RUNNING = "running"
    CANCELLED = "cancelled"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Still going: a second run of the job is refused unless forced."""
        return self in (LiveStatus.PENDING, LiveStatus.RUNNING)


_STATUS = {
    JobState.PENDING_APPROVAL: LiveStatus.PENDING,
    JobState.QUEUED: LiveStatus.PENDING,
    JobState.INITIALIZING: LiveStatus.PENDING,
    JobState.RUNNING: LiveStatus.RUNNING,
    JobState.SUCCESS: LiveStatus.SUCCEEDED,
    JobState.FAILED: LiveStatus.FAILED,
    JobState.ABORTED: LiveStatus.CANCELLED,
}


def live_status(state: JobState | None) -> LiveStatus:
    """The status of a job whose latest run is in ``state`` (``None``: it never ran)."""
    return LiveStatus.UNKNOWN if state is None else _STATUS[state]


def job_title(name: str) -> str:
    """The experiment title that marks a run of live job ``name``."""
    return TITLE_PREFIX + name


def job_of_title(title: str) -> str | None:
    """The live job an experiment ran, or ``None`` for an ordinary experiment."""
    return title[len(TITLE_PREFIX) :] if title.startswith(TITLE_PREFIX) else None


@dataclass(frozen=True)
class Unsupported:
    """A key a job sets that this executor ignores: said aloud, never dropped silently."""

    key: str
    where: str  # FILE:LINE jobs.NAME.KEY


@dataclass(frozen=True)
class LiveJob:
    """One job definition of ``live.yaml``."""

    name: str
    command: str
    computes: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    image: str | None = None
    volumes: tuple[str, ...] = ()
    http_port: int | None = None
    detach: bool = True
    unsupported: tuple[Unsupported, ...] = ()

    @property
    def title(self) -> str:
        return job_title(self.name)

    def environment(self) -> dict[str, str]:
        """The variables the command sees on top of the task's own: ``env`` and the port."""
        out = dict(self.env)
        if self.http_port is not None:
            out[HTTP_PORT_ENV] = str(self.http_port)
        return out

    def shell_command(self) -> str:
        """The command as the task's shell runs it, ``env`` exported first.

        Experiments take no env of their own, and the runtime runs commands with ``/bin/sh -c``,
        so an ``export`` line carries the job's variables and wins over the project's."""
        env = self.environment()
        if not env:
            return self.command
        pairs = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        return f"export {pairs}\n{self.command}"


@dataclass(frozen=True)
class LiveSpec:
    """A parsed ``live.yaml``: its jobs in file order, and where each key was."""

    source: str
    jobs: Mapping[str, LiveJob]
    source_map: SourceMap

    def job(self, name: str) -> LiveJob:
        """The job called ``name``; ``NotFound`` lists the defined ones."""
        found = self.jobs.get(name)
        if found is None:
            known = ", ".join(self.jobs) or "none"
            raise NotFound(
                f"no live job {name!r} is defined",
                where=self.source,
                hint=f"Defined jobs: {known}. Add it under jobs: in {self.source}.",
            )
        return found


class LiveSpecError(FlowSpecError):
    """Every problem found in one ``live.yaml``, each as ``FILE:LINE key: what (hint)``."""


def parse_live(text: str, *, source: str = f"{LIVE_DIR}/{LIVE_FILE}") -> LiveSpec:
    """The checked spec of ``text``; raises ``LiveSpecError`` naming every problem."""
    try:
        data, smap = load(text, source=source)
    except FlowSpecError as exc:  # YAML syntax: same problems, this file's error type
        raise LiveSpecError(exc.problems, exc.source_map) from None
    problems: list[Problem] = []
    if not isinstance(data, dict):
        problems.append(
            Problem((), "the file holds no mapping of jobs", f"Start it like:\n{_SKELETON}")
        )
        raise LiveSpecError(problems, smap)
    _top(data, problems)
    jobs: dict[str, LiveJob] = {}
    raw_jobs = data.get("jobs")
    if isinstance(raw_jobs, dict):
        for name, raw in raw_jobs.items():
            job = _job(name, raw, smap, problems)
            if job is not None:
                jobs[name] = job
    if problems:
        raise LiveSpecError(sorted(problems, key=lambda p: p.line or smap.line(p.path)), smap)
    return LiveSpec(source=source, jobs=jobs, source_map=smap)


def _top(data: dict[str, Any], problems: list[Problem]) -> None:
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(_unknown((key,), "the file", _TOP_KEYS))
    kind = data.get("kind", "live")
    if kind != "live":
        problems.append(
            Problem(
                ("kind",), f"kind is {kind!r}, not 'live'", "Write kind: live, or leave it out."
            )
        )
    if "jobs" not in data:
        problems.append(
            Problem(("jobs",), "missing required key 'jobs'", f"Name the jobs:\n{_SKELETON}")
        )
    elif not isinstance(data["jobs"], dict) or not data["jobs"]:
        problems.append(
            Problem(
                ("jobs",),
                "jobs is not a mapping of job names to definitions",
                f"Write each job under jobs: by name:\n{_SKELETON}",
            )
        )


def _job(name: str, raw: Any, smap: SourceMap, problems: list[Problem]) -> LiveJob | None:
    path: Path = ("jobs", name)
    before = len(problems)
    if not _NAME.fullmatch(name):
        problems.append(
            Problem(
                path,
                f"job name {name!r} is not a valid name",
                "Start with a letter; use letters, digits, '-' and '_' (at most 63), "
                "e.g. train or tensorboard_1.",
            )
        )
    if not isinstance(raw, dict):
        problems.append(
            Problem(path, f"job {name!r} has no definition", "Give it keys, e.g. cmd: ...")
        )
        return None
    for key in raw:
        if key not in _JOB_KEYS:
            problems.append(_unknown((*path, key), f"job {name!r}", _JOB_KEYS))
    command = _command(path, raw, problems)
    computes = _computes(path, raw, problems)
    env = _env(path, raw.get("env"), problems)
    image = _text(path, raw, "image", problems)
    volumes = _volumes(path, raw.get("volumes"), problems)
    port = _port(path, raw.get("http_port"), problems)
    detach = _bool(path, raw, "detach", True, problems)
    if port is not None and HTTP_PORT_ENV in env:
        problems.append(
            Problem(
                (*path, "env", HTTP_PORT_ENV),
                f"{HTTP_PORT_ENV} is set by http_port",
                f"Remove {HTTP_PORT_ENV} from env: http_port: exports it.",
            )
        )
    if len(problems) > before or command is None:
        return None
    unsupported = tuple(
        Unsupported(key, smap.where((*path, key))) for key in LOCAL_UNSUPPORTED if key in raw
    )
    return LiveJob(
        name=name,
        command=command,
        computes=computes,
        env=env,
        image=image,
        volumes=volumes,
        http_port=port,
        detach=detach,
        unsupported=unsupported,
    )


def _unknown(path: Path, what: str, keys: tuple[str, ...]) -> Problem:
    key = str(path[-1])
    close = difflib.get_close_matches(key, keys, n=1)
    guess = f"Did you mean {close[0]!r}? " if close else ""
    return Problem(path, f"unknown key {key!r} in {what}", guess + f"Keys: {', '.join(keys)}.")


def _command(path: Path, raw: dict[str, Any], problems: list[Problem]) -> str | None:
    given = [k for k in ("cmd", "command") if k in raw]
    if not given:
        problems.append(
            Problem(
                (*path, "cmd"),
                f"job {path[-1]!r} has no command",
                "Give the command to run: cmd: python train.py (or command:).",
            )
        )
        return None
    if len(given) == 2:
        problems.append(
            Problem(
                (*path, "command"),
                "both cmd and command are given",
                "They are two spellings of one key: keep one.",
            )
        )
        return None
    key = given[0]
    value = raw[key]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return shlex.join(value)
    if not isinstance(value, str) or not value.strip():
        problems.append(
            Problem(
                (*path, key),
                f"{key} is empty or not text",
                f"Give the command as text: {key}: python train.py.",
            )
        )
        return None
    return value.strip()


def _computes(path: Path, raw: dict[str, Any], problems: list[Problem]) -> tuple[str, ...]:
    given = [k for k in ("preset", "compute") if k in raw]
    if not given:
        return ()
    if len(given) == 2:
        problems.append(
            Problem(
                (*path, "compute"),
                "both preset and compute are given",
                "They are two spellings of one key: keep one.",
            )
        )
        return ()
    key = given[0]
    value = raw[key]
    names = [value] if isinstance(value, str) else value
    if (
        not isinstance(names, list)
        or not names
        or not all(isinstance(n, str) and n.strip() for n in names)
    ):
        problems.append(
            Problem(
                (*path, key),
                f"{key} is not a compute template name or a list of them",
                f"Name a template from `hw compute list`: {key}: medium (or [medium, large]).",
            )
        )
        return ()
    return tuple(n.strip() for n in names)


def _env(path: Path, value: Any, problems: list[Problem]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(
            Problem(
                (*path, "env"),
                "env is not a mapping",
                "Give a mapping of names to values: env: {LR: '0.01'}.",
            )
        )
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        here = (*path, "env", key)
        if not _ENV_NAME.fullmatch(key):
            problems.append(
                Problem(
                    here,
                    f"environment variable name {key!r} is not a valid name",
                    "Use letters, digits and underscores, not starting with a digit.",
                )
            )
        elif not isinstance(item, str):
            problems.append(
                Problem(
                    here,
                    f"the value of {key} is empty or not text",
                    f"Give a value: {key}: 'some text' (quote it to keep it as written).",
                )
            )
        else:
            out[key] = item
    return out


def _text(path: Path, raw: dict[str, Any], key: str, problems: list[Problem]) -> str | None:
    if key not in raw:
        return None
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        problems.append(
            Problem((*path, key), f"{key} is empty or not text", f"Give {key}: a name, as text.")
        )
        return None
    return value


def _volumes(path: Path, value: Any, problems: list[Problem]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(
            Problem(
                (*path, "volumes"),
                "volumes is not a list of text",
                "Give a list: volumes: [storage:data:/data:ro].",
            )
        )
        return ()
    return tuple(value)


def _port(path: Path, value: Any, problems: list[Problem]) -> int | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else ""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        shown = text or type(value).__name__
        problems.append(
            Problem(
                (*path, "http_port"),
                f"http_port {shown!r} is not a port number",
                "Give a whole number from 1 to 65535, e.g. http_port: 8888.",
            )
        )
        return None
    return int(text)


def _bool(
    path: Path, raw: dict[str, Any], key: str, default: bool, problems: list[Problem]
) -> bool:
    if key not in raw:
        return default
    value = raw[key]
    word = value.lower() if isinstance(value, str) else ""
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    problems.append(
        Problem((*path, key), f"{key} is not true or false", f"Write {key}: true or {key}: false.")
    )
    return default

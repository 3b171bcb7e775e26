"""Where the SDK finds its server, its token and its active project.

One order everywhere: an explicit argument, then the environment (``HEADWATER_URL``,
``HEADWATER_TOKEN``, ``HEADWATER_PROJECT``), then, for the project only, the linked folder the
command runs in (``.headwater/project.yml``, seed 003), then ``config.json`` in
``HEADWATER_CONFIG_DIR`` (default ``~/.headwater``), then the defaults. The file holds a token, so
it is written atomically and readable by its owner only.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from headwater.client.linked import linked_project
from headwater.domain.errors import InvalidInput

DEFAULT_URL = "http://127.0.0.1:8765"
CONFIG_FILE = "config.json"
ENV_URL = "HEADWATER_URL"
ENV_TOKEN = "HEADWATER_TOKEN"
ENV_PROJECT = "HEADWATER_PROJECT"
ENV_CONFIG_DIR = "HEADWATER_CONFIG_DIR"
ENV_CACHE_DAYS = "HEADWATER_CACHE_DAYS"
DEFAULT_CACHE_DAYS = 14.0

__all__ = [
    "DEFAULT_URL",
    "ClientConfig",
    "cache_days",
    "config_dir",
    "load_config",
    "normalise_url",
    "resolve_config",
    "save_config",
    "update_config",
]


@dataclass(frozen=True)
class ClientConfig:
    """What a client connects with. ``project`` None means the caller's Personal project.

    A dataclass, not a Pydantic model: every ``hw`` command builds one before its first
    request, and building the first model loads Pydantic's schema and plugin machinery
    (issue 18). ``config.json`` holds ``url``, ``token`` and ``project``.
    """

    url: str = DEFAULT_URL
    token: str | None = None
    project: str | None = None
    project_source: str | None = None  # where `project` came from, named in error messages


_STORED = ("url", "token", "project")  # what config.json holds


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get(ENV_CONFIG_DIR) or Path.home() / ".headwater").expanduser()


def cache_days(environ: Mapping[str, str] | None = None) -> float:
    """Days a cached dataset or model version stays unused before it is evicted."""
    text = (os.environ if environ is None else environ).get(ENV_CACHE_DAYS, "").strip()
    if not text:
        return DEFAULT_CACHE_DAYS
    try:
        days = float(text)
    except ValueError:
        days = -1
    if not days > 0:
        raise InvalidInput(
            f"{ENV_CACHE_DAYS}={text!r} is not a positive number of days",
            where=ENV_CACHE_DAYS,
            hint=f"Set it to e.g. 7, or unset it for the default of {DEFAULT_CACHE_DAYS:g}.",
        )
    return days


def normalise_url(url: str, *, where: str = "url") -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(
            f"server URL {url!r} does not start with http:// or https://",
            where=where,
            hint=f"Give the full address, e.g. {DEFAULT_URL}.",
        )
    return url


def load_config(directory: Path | None = None) -> ClientConfig:
    """The stored config, or the defaults when there is none yet."""
    path = (directory or config_dir()) / CONFIG_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return ClientConfig()
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc)) from exc
    try:
        stored = _parse(text)
    except ValueError as exc:
        raise _unreadable(path, str(exc)) from exc
    return replace(stored, project_source=str(path))


def _parse(text: str) -> ClientConfig:
    """``config.json``'s fields (others are ignored); ValueError saying what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("it is not a JSON object")
    given = {name: data[name] for name in _STORED if name in data}
    for name, value in given.items():
        if not isinstance(value, str) and (name == "url" or value is not None):
            raise ValueError(f"{name} should be a string, not {json.dumps(value)}")
    return ClientConfig(**given)


def _unreadable(path: Path, reason: str) -> InvalidInput:
    return InvalidInput(
        f"cannot read the client config: {reason}",
        where=str(path),
        hint="Fix the file, or delete it and log in again with `hw login`.",
    )


def save_config(config: ClientConfig, directory: Path | None = None) -> Path:
    """Write ``config.json`` atomically with mode 0600 (it holds a token); return its path."""
    folder = directory or config_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / CONFIG_FILE
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=folder)  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            stored = {name: getattr(config, name) for name in _STORED}
            fh.write(json.dumps(stored, indent=2, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def resolve_config(
    url: str | None = None,
    token: str | None = None,
    project: str | None = None,
    *,
    directory: Path | None = None,
    environ: Mapping[str, str] | None = None,
    folder: Path | None = None,
) -> ClientConfig:
    """Each field from the first of: argument, environment, config file, default; the project
    from the linked folder around ``folder`` (default: the working directory) before the file."""
    env = os.environ if environ is None else environ
    stored = load_config(directory or config_dir(env))

    def pick(name: str, arg: str | None, var: str) -> tuple[str | None, str | None]:
        """The value and where it came from: the argument's name, the variable or the file."""
        if arg:
            return arg, name
        if env.get(var):
            return env[var], var
        return getattr(stored, name), stored.project_source

    chosen_url, url_source = pick("url", url, ENV_URL)
    chosen_token, _ = pick("token", token, ENV_TOKEN)
    chosen_project, project_source = pick("project", project, ENV_PROJECT)
    if not project and not env.get(ENV_PROJECT):
        linked = linked_project(folder)
        if linked is not None:
            chosen_project, project_source = linked[0], str(linked[1])
    return ClientConfig(
        url=normalise_url(chosen_url or DEFAULT_URL, where=url_source or "url"),
        token=chosen_token,
        project=chosen_project,
        project_source=project_source if chosen_project else None,
    )


def update_config(directory: Path | None = None, **changes: str | None) -> Path:
    """Change some stored fields (url, token, project), keep the others; return the file."""
    stored = load_config(directory)
    fields: dict[str, Any] = dict(changes)
    return save_config(replace(stored, **fields), directory)

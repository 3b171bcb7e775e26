"""Endpoint replicas on Ray Serve, for the Ray executor.

Each endpoint version is a Serve application of its own (``hw-<version id>``, route prefix
``/hw/<version id>``), one deployment, ``executors/serve_replica.py``. Versions, the canary
split, keys, metrics and the request log stay Headwater's: the gateway sends a version's
requests to its application through Serve's HTTP proxy, and Serve spreads them over the
application's replicas.

A Serve replica runs one Headwater replica task: the serving controller creates its replica
tasks as on every backend (each with its scoped token, its own log and states), the
scheduler launches them here, and each launch adds the task to its version's application
(``num_replicas`` = its tasks; the task list is the deployment's ``user_config``, so adding
or removing one reconfigures the running replicas instead of restarting them). Headwater's
autoscaler, bounded by the endpoint's min/max, decides how many: a replica that Serve's own
autoscaler would add has no task, so no token and no rights, and so it is not used.

The state is Serve's own declarative config, read and written over the dashboard's REST API
(``/api/serve/applications/``): the server holds no Ray driver, and a restarted server finds
its applications there. Only the ``hw-`` applications are Headwater's; others in the config
are written back as they were. Tokens ride in ``user_config``: whoever reaches the dashboard
reads them, as with a Ray Job's environment, so the cluster must run with Ray's token
authentication (``executors/ray.py``); user code in a replica holds no Ray token.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from headwater.domain.compute import Resources
from headwater.executors.base import Launch, Liveness, Runner
from headwater.executors.ray import RayExecutor, RayUnavailable, auth_headers, ray_resources

log = logging.getLogger(__name__)

PREFIX = "hw-"
IMPORT_PATH = "headwater.executors.serve_replica:build"
SERVE_PORT = 8000  # Serve's own default
READ_SECONDS = 1.0  # the config read for polls is reused this long
# A task in Serve's config that the engine has not polled for this long has ended (the
# engine polls every active task every 5 s): its slot goes, else its Serve replica would
# start its runtime again and again with a token that no longer works.
PRUNE_SECONDS = 30.0


def app_name(version_id: str) -> str:
    return f"{PREFIX}{version_id}"


def route_prefix(version_id: str) -> str:
    return f"/hw/{version_id}"


def tasks_of(app: dict[str, Any]) -> list[list[str]]:
    deployments = app.get("deployments") or [{}]
    return list((deployments[0].get("user_config") or {}).get("tasks", []))


def application(
    version_id: str,
    tasks: list[list[str]],
    *,
    args: dict[str, Any],
    resources: Resources,
) -> dict[str, Any]:
    """One version's application in Serve's declarative config."""
    return {
        "name": app_name(version_id),
        "route_prefix": route_prefix(version_id),
        "import_path": IMPORT_PATH,
        "args": args,
        "deployments": [
            {
                "name": "replica",
                "num_replicas": len(tasks),
                "user_config": {"tasks": tasks},
                "ray_actor_options": ray_resources(resources),
                "health_check_period_s": 2,
                "graceful_shutdown_timeout_s": 20,
            }
        ],
    }


def ended(config: dict[str, Any], polled: dict[str, float], since: float, now: float) -> list[str]:
    """The tasks of Headwater's applications not polled for ``PRUNE_SECONDS`` (``polled``:
    task id -> when last; ``since``: when this server began to watch, so a fresh one waits
    ``PRUNE_SECONDS`` before it judges)."""
    if now - since < PRUNE_SECONDS:
        return []
    return [
        str(task[0])
        for app in config.get("applications", [])
        if str(app.get("name", "")).startswith(PREFIX)
        for task in tasks_of(app)
        if now - polled.get(str(task[0]), since) >= PRUNE_SECONDS
    ]


def with_task(
    config: dict[str, Any], version_id: str, task: list[str], fresh: dict[str, Any]
) -> dict[str, Any]:
    """``config`` with ``task`` added to its version's application (``fresh`` when none)."""
    out = copy.deepcopy(config)
    apps: list[dict[str, Any]] = out.setdefault("applications", [])
    for app in apps:
        if app.get("name") == app_name(version_id):
            tasks = tasks_of(app)
            if not any(t[0] == task[0] for t in tasks):
                tasks.append(task)
            app["deployments"][0]["user_config"] = {"tasks": tasks}
            app["deployments"][0]["num_replicas"] = len(tasks)
            return out
    apps.append(fresh)
    return out


def without_task(config: dict[str, Any], *task_ids: str) -> dict[str, Any]:
    """``config`` without ``task_ids``; an application left with no task goes."""
    out = copy.deepcopy(config)
    kept = []
    for app in out.get("applications", []):
        if str(app.get("name", "")).startswith(PREFIX):
            tasks = [t for t in tasks_of(app) if t[0] not in task_ids]
            if not tasks:
                continue
            app["deployments"][0]["user_config"] = {"tasks": tasks}
            app["deployments"][0]["num_replicas"] = len(tasks)
        kept.append(app)
    out["applications"] = kept
    return out


class ServeApi:
    """Serve's declarative config over the dashboard's REST API."""

    def __init__(self, dashboard: str, port: int) -> None:
        self.url = dashboard.rstrip("/") + "/api/serve/applications/"
        self.port = port

    def read(self) -> dict[str, Any]:
        """The config Serve runs now (an empty one when Serve has not started). Serve keeps
        the proxy's port it started with: ``port`` becomes that one."""
        answer = httpx.get(self.url, headers=auth_headers(), timeout=30)
        answer.raise_for_status()
        details = answer.json()
        running = (details.get("http_options") or {}).get("port")
        if details.get("proxies") and running and int(running) != self.port:
            log.warning(
                "Ray Serve's proxy listens on port %s, not HEADWATER_RAY_SERVE_PORT=%s "
                "(Serve keeps the port it started with): using %s",
                running,
                self.port,
                running,
            )
            self.port = int(running)
        apps = [
            app["deployed_app_config"]
            for app in (details.get("applications") or {}).values()
            if app.get("deployed_app_config")
        ]
        return {
            "proxy_location": "EveryNode",
            "http_options": {"host": "0.0.0.0", "port": self.port},
            "applications": apps,
        }

    def statuses(self) -> dict[str, str]:
        answer = httpx.get(self.url, headers=auth_headers(), timeout=30)
        answer.raise_for_status()
        found = answer.json().get("applications") or {}
        return {name: str(app.get("status")) for name, app in found.items()}

    def write(self, config: dict[str, Any]) -> None:
        answer = httpx.put(self.url, json=config, headers=auth_headers(), timeout=60)
        if answer.status_code >= 400:
            raise RayUnavailable(
                f"Ray Serve refused the applications' config: {answer.text[:500]}",
                where="HEADWATER_RAY_ADDRESS",
                hint="Check that the Ray nodes run this Headwater version with ray[serve].",
            )


class RayServeExecutor(RayExecutor):
    """The Ray executor, with endpoint replicas as Ray Serve replicas (see the module's doc);
    every other task is the ``RayExecutor``'s (the pool, or a Ray Job)."""

    def __init__(
        self,
        address: str | None = None,
        *,
        home: Path | None = None,
        python: str | None = None,
        workroot: str | None = None,
        sandbox: dict[str, Any] | None = None,
        serve_port: int | None = None,
        serve_host: str = "127.0.0.1",
        dispatch: str = "pool",
    ) -> None:
        """``serve_port``: the port of Serve's HTTP proxy on every node (8000); the gateway
        reaches it at ``serve_host`` (a node's address, or a balancer in front of them)."""
        super().__init__(
            address,
            home=home,
            python=python,
            workroot=workroot,
            sandbox=sandbox,
            dispatch=dispatch,
        )
        self.serve = ServeApi(self._dashboard(), serve_port or SERVE_PORT)
        self.serve_host = serve_host
        self._serve_lock = threading.Lock()
        self._read: tuple[float, dict[str, Any]] | None = None
        self._polled: dict[str, float] = {}  # task id: when the engine last asked
        self._since = time.monotonic()
        self._pruned = time.monotonic()

    def launch(self, launch: Launch) -> Runner:
        if not launch.serving:
            return super().launch(launch)
        version = launch.serving
        args = {
            "server_url": launch.server_url,
            "project_id": launch.project_id,
            "python": self.python if self.python != "python" else None,
            "sandbox": self.sandbox,
        }
        fresh = application(
            version,
            [[launch.experiment_id, launch.token]],
            args=args,
            resources=launch.resources,
        )
        with self._serve_lock:
            config = self.serve.read()
            self.serve.write(
                with_task(config, version, [launch.experiment_id, launch.token], fresh)
            )
            self._read = None
        self._polled[launch.experiment_id] = time.monotonic()
        return {
            "executor": self.name,
            "serve_app": app_name(version),
            "serve_url": f"http://{self.serve_host}:{self.serve.port}{route_prefix(version)}",
        }

    def _config(self) -> dict[str, Any]:
        with self._serve_lock:
            if self._read is not None and time.monotonic() - self._read[0] < READ_SECONDS:
                return self._read[1]
            config = self.serve.read()
            self._read = (time.monotonic(), config)
            return config

    def poll(self, experiment_id: str, runner: Runner) -> Liveness:
        if "serve_app" not in runner:
            return super().poll(experiment_id, runner)
        self._polled[experiment_id] = time.monotonic()
        try:
            config = self._config()
            self._prune(config)
        except (httpx.HTTPError, OSError, RayUnavailable):
            return Liveness.UNKNOWN
        for app in config.get("applications", []):
            mine = app.get("name") == runner["serve_app"]
            if mine and any(t[0] == experiment_id for t in tasks_of(app)):
                return Liveness.ALIVE
        return Liveness.GONE

    def _prune(self, config: dict[str, Any]) -> None:
        """Take out the tasks that ended by themselves (see ``PRUNE_SECONDS``), at most once
        every ``PRUNE_SECONDS``."""
        now = time.monotonic()
        if now - self._pruned < PRUNE_SECONDS:
            return
        self._pruned = now
        gone = ended(config, self._polled, self._since, now)
        if not gone:
            return
        log.info("Ray Serve: the slots of ended replica tasks go: %s", ", ".join(gone))
        with self._serve_lock:
            self.serve.write(without_task(self.serve.read(), *gone))
            self._read = None
        for task in gone:
            self._polled.pop(task, None)

    def cancel(self, experiment_id: str, runner: Runner) -> None:
        if "serve_app" not in runner:
            super().cancel(experiment_id, runner)
            return
        try:
            with self._serve_lock:
                self.serve.write(without_task(self.serve.read(), experiment_id))
                self._read = None
        except (httpx.HTTPError, OSError, RayUnavailable) as exc:
            log.warning("experiment %s: could not take it out of Ray Serve: %s", experiment_id, exc)

"""The objects one server process holds, built once from settings."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from headwater.db.cipher import SecretBox
from headwater.db.database import Database
from headwater.db.migrate import upgrade
from headwater.db.repos.users import UserRepo
from headwater.db.repos.versions import VersionRepo
from headwater.domain.jobs import Experiment
from headwater.domain.throttle import LoginThrottle
from headwater.domain.trees import Tree
from headwater.domain.usage import UsageHistory
from headwater.engine.notifications import Notifications
from headwater.engine.scheduler import Engine
from headwater.executors import registry
from headwater.server.notifiers import ProjectNotifiers
from headwater.server.taskspec import task_spec
from headwater.server.usage import UsageSampler
from headwater.settings import ServerSettings
from headwater.storage.backends.local import LocalBackend
from headwater.storage.objects import ObjectStore
from headwater.storage.versioning import Versioning

ADMIN_TOKEN_FILE = "admin.token"
SECRET_KEY_FILE = "secret.key"


@dataclass
class Platform:
    settings: ServerSettings
    db: Database
    box: SecretBox
    objects: ObjectStore
    engine: Engine
    logins: LoginThrottle = field(default_factory=LoginThrottle)  # failed logins, in memory
    usage: UsageHistory = field(
        default_factory=lambda: UsageHistory(timedelta(seconds=5), timedelta(hours=1))
    )
    sampler: UsageSampler | None = None

    def public_url(self) -> str:
        return self.settings.resolved_public_url()

    @property
    def versioning(self) -> Versioning:
        """Commits through one write transaction per attempt (see storage.versioning)."""

        @contextmanager
        def transaction() -> Iterator[VersionRepo]:
            with self.db.write() as session:
                yield VersionRepo(session)

        return Versioning(self.objects, transaction)

    @classmethod
    def start(cls, settings: ServerSettings) -> Platform:
        """Prepare the home, migrate the database, and create ``admin`` on first start."""
        home = settings.home
        make_private(home)
        db = Database(settings.resolved_database_url())
        upgrade(db)
        database = home / "headwater.db"
        if database.exists():  # SQLite's: made with the process's umask
            database.chmod(0o600)
        box = SecretBox(_secret_key(settings))
        objects = ObjectStore(LocalBackend(home / "objects"))
        platform = cls(
            settings=settings,
            db=db,
            box=box,
            objects=objects,
            engine=_engine(settings, db, box, objects),
            usage=UsageHistory(
                interval=timedelta(seconds=settings.monitor_sample_seconds),
                retention=timedelta(minutes=settings.monitor_history_minutes),
            ),
        )
        platform.ensure_admin()
        platform.engine.prepare()
        if settings.engine:
            platform.engine.start()
            platform.sampler = UsageSampler(db, platform.usage)
            platform.sampler.start()
        return platform

    def ensure_admin(self) -> None:
        with self.db.write() as session:
            users = UserRepo(session)
            if users.count() > 0:
                return
            admin = users.create("admin", "admin@localhost", admin=True)
            token = users.issue_token(admin.id)
        write_private(self.settings.home / ADMIN_TOKEN_FILE, token + "\n")

    def close(self) -> None:
        if self.sampler is not None:
            self.sampler.close()
        self.engine.close()
        self.db.dispose()


def _engine(settings: ServerSettings, db: Database, box: SecretBox, objects: ObjectStore) -> Engine:
    options: dict[str, object] = {}
    if settings.executor == "local":
        options = {
            "home": settings.home,
            "idle_exit": settings.worker_idle_exit,
            "sandbox": settings.sandbox_options(),
        }
    elif settings.executor == "ray":
        options = {
            "address": settings.ray_address,
            "home": settings.home,
            "python": settings.ray_python,
            "sandbox": settings.sandbox_options(),
            "serve_port": settings.ray_serve_port,
            "serve_host": settings.ray_serve_host,
            "dispatch": settings.ray_dispatch,
        }
    notifiers = ProjectNotifiers(db, box, settings)

    def spec(experiment: Experiment, token: str) -> dict[str, Any]:
        built = task_spec(db, box, settings.resolved_public_url(), experiment, token)
        return built.model_dump(mode="json")

    return Engine(
        db,
        registry.create(settings.executor, **options),
        server_url=settings.resolved_public_url,
        notifications=Notifications(db, notifiers, settings.resolved_public_url(), notifiers),
        lock_file=settings.home / "engine.lock",
        standby_seconds=settings.leader_retry_seconds,
        task_spec=spec,
        trees=lambda digest: Tree.decode(objects.read(digest)),
        missing_objects=objects.missing,
        autoscale=settings.serving.autoscale_policy(),
        rollout=settings.serving.rollout_policy(),
        serving=settings.serving.controller,
        replica_max_body=settings.serving.body_limit_bytes,
        max_instances=settings.flow_max_instances,
    )


def make_private(home: Path) -> None:
    """The home only its owner may enter (0700), whatever it was: it holds the database,
    ``secret.key``, ``admin.token`` and the worker's socket. Inside, ``hw server`` makes
    files 0600 (its umask), and these folders 0700."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    home.chmod(0o700)
    for name in ("logs", "work", "cache", "objects"):
        folder = home / name
        if folder.is_dir():
            folder.chmod(0o700)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600), atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _secret_key(settings: ServerSettings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.home / SECRET_KEY_FILE
    if not path.exists():
        write_private(path, SecretBox.generate_key().decode() + "\n")
    return path.read_text().strip()

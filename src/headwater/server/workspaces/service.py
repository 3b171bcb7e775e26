"""What the workspace routes and the culler do: start one (an experiment plus its row), note it
ready, save it, stop it, and now and then cull the idle and reap the dead.

Saves and stops of one workspace run one at a time (a lock per workspace in this process):
the culler's save must not interleave with a user's. A stop moves the workspace to
``stopping`` first, so the proxy lets no more edits in while its folder is saved; a save
refused by a conflict moves it back to ``running``, with nothing committed.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from headwater.db.repos.activity import ActivityRepo
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.settings import SettingsRepo
from headwater.db.repos.versions import VersionRepo
from headwater.db.repos.workspaces import WorkspaceRepo
from headwater.domain.entities import ActivityKind
from headwater.domain.errors import Conflict, HeadwaterError
from headwater.domain.ids import new_id
from headwater.domain.jobs import JobState
from headwater.domain.workspaces import (
    TITLE_PREFIX,
    CullPolicy,
    Workspace,
    WorkspaceKind,
    WorkspaceState,
    autosync_due,
    cull_reason,
)
from headwater.server.platform import Platform
from headwater.server.taskfolder import known_task_folder
from headwater.server.workspaces import tensorboards
from headwater.server.workspaces.proxy import PREFIX, Activity
from headwater.server.workspaces.saving import SaveRequest, save
from headwater.storage.versioning import CommitOutcome

log = logging.getLogger("headwater.workspaces")
KERNELS_TIMEOUT = 5.0


@dataclass(frozen=True)
class Saved:
    outcome: CommitOutcome | None  # None: a stop with discard, or nothing to save
    workspace: Workspace


def launch_command(workspace_id: str) -> str:
    return f"python -m headwater.runtime.jupyter --base-url {PREFIX}{workspace_id}/"


class Workspaces:
    def __init__(self, platform: Platform, activity: Activity) -> None:
        self.platform = platform
        self.activity = activity
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def _one_at_a_time(self, workspace_id: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(workspace_id, threading.Lock())
        with lock:
            yield

    # -- start and ready -------------------------------------------------------------------

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def policy_for(
        self, project_id: str, idle_seconds: int | None, max_age_seconds: int | None
    ) -> CullPolicy:
        with self.platform.db.read() as session:
            settings = SettingsRepo(session).get(project_id)
        return CullPolicy(
            idle_seconds=idle_seconds or settings.workspace_idle_minutes * 60,
            max_age_seconds=max_age_seconds or settings.workspace_max_age_hours * 3600,
        )

    @staticmethod
    def title(name: str) -> str:
        return f"{TITLE_PREFIX}{name}"

    @staticmethod
    def new_id() -> str:
        return new_id()

    # -- save ------------------------------------------------------------------------------

    def _folder(self, workspace: Workspace) -> tuple[Path, str]:
        with self.platform.db.read() as session:
            experiment = ExperimentRepo(session).get(workspace.experiment_id)
        # where the worker made it, never the workdir the task reported (it could name any)
        workdir = known_task_folder(self.platform, experiment.id)
        if not workdir or not Path(workdir).is_dir():
            raise Conflict(
                f"workspace {workspace.name} has no folder to save yet",
                where="workspace",
                hint="Wait until it is running.",
            )
        return Path(workdir), experiment.output_dir

    def _save(self, workspace: Workspace, author: str, message: str) -> CommitOutcome:
        folder, output_dir = self._folder(workspace)
        with self.platform.db.read() as session:
            files = VersionRepo(session).files_repo(workspace.project_id)

        def record(hashes: list[str]) -> None:
            with self.platform.db.write() as session:
                VersionRepo(session).record_uploads(files.id, hashes)

        request = SaveRequest(
            folder=folder,
            repo_id=files.id,
            project_id=workspace.project_id,
            base=workspace.saved_commit or workspace.base_commit,
            output_dir=output_dir,
            author=author,
            message=message or f"workspace {workspace.name}",
        )
        outcome = save(self.platform.versioning, request, record)
        with self.platform.db.write() as session:
            WorkspaceRepo(session).update(
                workspace.id, saved_commit=outcome.commit.id, saved_at=datetime.now(UTC)
            )
            if not outcome.unchanged:
                ActivityRepo(session).record(
                    workspace.project_id,
                    author,
                    ActivityKind.VERSION_COMMITTED,
                    f"saved workspace {workspace.name}: {outcome.commit.files} file(s)",
                    {"repo": files.name, "kind": files.kind.value, "commit": outcome.commit.id},
                )
        return outcome

    def save(self, workspace_id: str, author: str, message: str) -> Saved:
        """Commit the folder's changes now (the workspace must be running)."""
        with self._one_at_a_time(workspace_id):
            workspace = self._get(workspace_id)
            if not workspace.saves:
                raise Conflict(
                    f"{workspace.name} is a TensorBoard: it has no files to save",
                    where="workspace",
                    hint="Only a JupyterLab workspace is saved; stop this one when done.",
                )
            if workspace.state is not WorkspaceState.RUNNING:
                raise Conflict(
                    f"workspace {workspace.name} is {workspace.state.value}",
                    where="workspace",
                    hint="Only a running workspace can be saved.",
                )
            outcome = self._save(workspace, author, message)
            return Saved(outcome, self._get(workspace_id))

    # -- stop ------------------------------------------------------------------------------

    def stop(
        self, workspace_id: str, author: str, *, discard: bool, message: str, reason: str
    ) -> Saved:
        """Save (unless ``discard``), then end its task. A conflicting save stops nothing."""
        with self._one_at_a_time(workspace_id):
            workspace = self._get(workspace_id)
            if workspace.state.ended:
                return Saved(None, workspace)
            was = workspace.state
            with self.platform.db.write() as session:
                WorkspaceRepo(session).move(workspace_id, WorkspaceState.STOPPING)
            outcome = None
            if not discard and was is WorkspaceState.RUNNING and workspace.saves:
                try:
                    outcome = self._save(workspace, author, message or f"stopped: {reason}")
                except HeadwaterError:
                    with self.platform.db.write() as session:
                        WorkspaceRepo(session).move(workspace_id, WorkspaceState.RUNNING)
                    raise
            self._end_task(workspace)
            with self.platform.db.write() as session:
                WorkspaceRepo(session).move(
                    workspace_id, WorkspaceState.STOPPED, reason=reason, address=None
                )
            return Saved(outcome, self._get(workspace_id))

    def _end_task(self, workspace: Workspace) -> None:
        with self.platform.db.read() as session:
            experiment = ExperimentRepo(session).get(workspace.experiment_id)
        if not experiment.state.terminal:
            self.platform.engine.stop(experiment)

    def _get(self, workspace_id: str) -> Workspace:
        with self.platform.db.read() as session:
            return WorkspaceRepo(session).get(None, workspace_id)

    # -- the culler and the reaper ------------------------------------------------------------

    def start_checking(self, every: float) -> None:
        """Check every ``every`` seconds, in a thread, while this server's engine leads."""

        def loop() -> None:
            while not self._stop.wait(every):
                try:
                    self.check()
                except Exception:  # a bad pass must not end the culling for good
                    log.exception("workspace check failed")

        self._thread = threading.Thread(target=loop, name="hw-workspaces", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def check(self) -> None:
        """Write the proxy's batched activity; then, when leading, mark the workspaces whose
        task ended, and cull the idle and the too old (saved, then stopped)."""
        seen = self.activity.drain()
        if seen:
            with self.platform.db.write() as session:
                WorkspaceRepo(session).touch(seen)
        if not self.platform.engine.leading:
            return
        with self.platform.db.read() as session:
            workspaces = WorkspaceRepo(session).not_ended()
            experiments = ExperimentRepo(session)
            states = {w.id: experiments.get(w.experiment_id) for w in workspaces}
        now = datetime.now(UTC)
        autosync: dict[str, int | None] = {}
        for workspace in workspaces:
            experiment = states[workspace.id]
            if experiment.state.terminal:
                self._ended(workspace, experiment.state, experiment.reason)
            elif workspace.state is WorkspaceState.RUNNING and not self._maybe_cull(workspace, now):
                self._maybe_autosync(workspace, now, autosync)
        self.sync_tensorboards()

    def sync_tensorboards(self) -> None:
        """The project setting ``tensorboard``: a TensorBoard for each running experiment,
        stopped once the experiment ended (nothing to save)."""
        to_start, to_stop = tensorboards.due(self.platform)
        for target in to_start:
            with self.platform.db.read() as session:
                settings = SettingsRepo(session).get(target[0])
            request = tensorboards.automatic_request(
                target,
                token_sealed=self.platform.box.seal(self.new_token()),
                workspace_id=self.new_id(),
                max_age=settings.workspace_max_age_hours * 3600,
            )
            try:
                tensorboards.create(self.platform, request)
            except HeadwaterError as exc:  # its name is taken by a running one: said, skipped
                log.warning("no TensorBoard for experiment %s: %s", target[3], exc)
        for workspace in to_stop:
            self.stop(
                workspace.id,
                "headwater",
                discard=True,
                message="",
                reason="its experiment ended",
            )

    def _ended(self, workspace: Workspace, state: JobState, reason: str | None) -> None:
        """Its task ended by itself (crashed, killed) or was stopped outside of ``stop``:
        nothing is committed (the folder may be half-written)."""
        with self._one_at_a_time(workspace.id):
            fresh = self._get(workspace.id)
            if fresh.state is WorkspaceState.STOPPING:
                return  # ``stop`` is ending it
            end = WorkspaceState.FAILED if state is JobState.FAILED else WorkspaceState.STOPPED
            why = reason or f"its task ended {state.value}"
            with self.platform.db.write() as session:
                WorkspaceRepo(session).move(workspace.id, end, reason=why, address=None)

    def _maybe_autosync(
        self, workspace: Workspace, now: datetime, minutes: dict[str, int | None]
    ) -> None:
        """Save a running workspace every ``sync_minutes`` while the project's autosync is on
        (``minutes`` caches each project's setting for this pass)."""
        if not workspace.saves:
            return
        if workspace.project_id not in minutes:
            with self.platform.db.read() as session:
                settings = SettingsRepo(session).get(workspace.project_id)
            minutes[workspace.project_id] = settings.sync_minutes if settings.autosync else None
        since = workspace.saved_at or workspace.ready_at or workspace.created_at
        if not autosync_due(now=now, since=since, minutes=minutes[workspace.project_id]):
            return
        try:
            with self._one_at_a_time(workspace.id):
                fresh = self._get(workspace.id)
                if fresh.state is WorkspaceState.RUNNING:
                    self._save(fresh, "headwater", f"autosync of workspace {fresh.name}")
        except HeadwaterError as exc:  # a conflict: said in the log, tried again next time
            log.warning("workspace %s not autosynced: %s", workspace.id, exc)
            with self.platform.db.write() as session:
                WorkspaceRepo(session).update(workspace.id, saved_at=now)

    def _maybe_cull(self, workspace: Workspace, now: datetime) -> bool:
        busy, kernel_last = self.kernels(workspace)
        started = workspace.ready_at or workspace.created_at
        reason = cull_reason(
            workspace.policy,
            now=now,
            started=started,
            last_activity=workspace.last_activity,
            kernel_busy=busy,
            kernel_activity=kernel_last,
        )
        if reason is None:
            return False
        log.info("culling workspace %s: %s", workspace.id, reason)
        try:
            self.stop(
                workspace.id, "headwater", discard=False, message="", reason=f"culled: {reason}"
            )
        except HeadwaterError as exc:  # a conflicting save: left running, said in the log
            log.warning("workspace %s not culled: %s", workspace.id, exc)
        return True

    def kernels(self, workspace: Workspace) -> tuple[bool, datetime | None]:
        """Whether any kernel is busy, and the latest kernel activity, asked of JupyterLab
        itself (``/api/kernels``): a long computation is not idle. Unanswered: not busy."""
        if not workspace.address or workspace.kind is not WorkspaceKind.JUPYTER:
            return False, None
        with self.platform.db.read() as session:
            sealed = WorkspaceRepo(session).sealed_token(workspace.id)
        token = self.platform.box.open(sealed)
        transport = httpx.HTTPTransport(uds=workspace.address.partition(":")[2])
        try:
            with httpx.Client(transport=transport, timeout=KERNELS_TIMEOUT) as client:
                answer = client.get(
                    f"http://workspace{PREFIX}{workspace.id}/api/kernels",
                    headers={"Authorization": f"token {token}"},
                )
                kernels = answer.json() if answer.status_code == 200 else []
        except (httpx.HTTPError, ValueError):
            return False, None
        busy = any(k.get("execution_state") == "busy" for k in kernels)
        times = [_parse_time(k.get("last_activity")) for k in kernels]
        known = [t for t in times if t is not None]
        return busy, max(known) if known else None


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

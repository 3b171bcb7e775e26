"""What a task's own token may do: the task principal's rules, as data.

A task (user code) carries ``HEADWATER_TOKEN``, bound to its one experiment. It may call only
the operations listed in ``TASK_OPERATIONS`` (by operation id, the route's function name), each
with a reach: its own experiment, reads in its own project, or the outputs it commits there.
Everything else (token minting, users, members, settings, other projects, other experiments,
creating anything) is refused by omission: a new route is closed to tasks until listed here.

In its project a task holds no one's rights but its own (``task_caller``): an admin's task is no
admin, and a member removed while their task runs does not widen or break it. The token ends
with the task; after a user's stop the runtime still has ``STOP_GRACE`` to flush its last logs
and outputs, then the token is refused whatever happens to the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from headwater.domain.access import AccessLevel, Caller, Grant, ResourceType
from headwater.domain.errors import NotFound, PermissionDenied, Unauthenticated
from headwater.domain.ids import as_number
from headwater.domain.jobs import JobState

STOP_GRACE = timedelta(minutes=2)


class TaskReach(StrEnum):
    OWN_EXPERIMENT = "own experiment"  # the path's experiment is the task's own
    PROJECT_READ = "project read"  # a read in the task's own project
    OUTPUT = "output"  # the project's files, written only on the experiment's own branch


_FILE_READS = (
    "get_object",
    "download_objects",
    "list_commits",
    "list_branches",
    "get_tree",
    "get_content",
    "diff",
    "preview",
)
_OUTPUT_WRITES = ("files_missing_objects", "files_upload_object", "files_upload_objects")

TASK_OPERATIONS: Mapping[str, TaskReach] = {
    # the runtime: its spec, state, logs, tags, metrics and output commit
    "task_spec": TaskReach.OWN_EXPERIMENT,
    "report_state": TaskReach.OWN_EXPERIMENT,
    "append_logs": TaskReach.OWN_EXPERIMENT,
    "log_metrics": TaskReach.OWN_EXPERIMENT,
    "log_values": TaskReach.OWN_EXPERIMENT,
    "record_output": TaskReach.OWN_EXPERIMENT,
    "report_serving": TaskReach.OWN_EXPERIMENT,  # an endpoint replica: where it listens
    # the SDK reading back what it logged
    "show_experiment": TaskReach.OWN_EXPERIMENT,
    "get_logs": TaskReach.OWN_EXPERIMENT,
    "get_metrics": TaskReach.OWN_EXPERIMENT,
    # the SDK's active project, and what the task may read in it
    "get_project": TaskReach.PROJECT_READ,
    "list_datasets": TaskReach.PROJECT_READ,
    "get_dataset": TaskReach.PROJECT_READ,
    "list_models": TaskReach.PROJECT_READ,
    "get_model": TaskReach.PROJECT_READ,
    "list_queries": TaskReach.PROJECT_READ,
    "resolve_query": TaskReach.PROJECT_READ,
    **{
        f"{kind}_{op}": TaskReach.PROJECT_READ
        for kind in ("files", "dataset", "model")
        for op in _FILE_READS
    },
    # its outputs: blobs, then a commit on experiments/<number>
    **dict.fromkeys(_OUTPUT_WRITES, TaskReach.OUTPUT),
    "files_commit": TaskReach.OUTPUT,
}


@dataclass(frozen=True)
class TaskScope:
    """The one experiment a task token is bound to."""

    experiment_id: str
    experiment_number: int
    project_id: str

    @property
    def branch(self) -> str:
        """Where its outputs are committed (``Experiment.branch``)."""
        return f"experiments/{self.experiment_number}"

    def owns(self, ref: str) -> bool:
        """Whether ``ref`` (an id or a number, as in a path) names the task's own experiment."""
        return ref == self.experiment_id or as_number(ref) == self.experiment_number


def check_alive(state: JobState, ended_at: datetime | None, now: datetime) -> None:
    """A task token authenticates while its experiment runs, and for ``STOP_GRACE`` after a
    stop (the runtime flushes); the engine deletes it at every other end."""
    if state.terminal and (ended_at is None or now - ended_at > STOP_GRACE):
        raise Unauthenticated(
            f"the task this token was made for has ended ({state.value})",
            where="Authorization",
            hint="A task's HEADWATER_TOKEN is valid only while its task runs.",
        )


def check_task_call(scope: TaskScope, operation: str, path_params: Mapping[str, str]) -> TaskReach:
    """The reach of ``operation`` for this task, or the error that refuses it."""
    project_id = path_params.get("project_id")
    if project_id is not None and project_id != scope.project_id:
        raise NotFound(  # like a project the caller cannot see: its existence is not revealed
            f"no project with id {project_id!r}",
            where="project",
            hint="A task's token reaches only the project its task runs in.",
        )
    reach = TASK_OPERATIONS.get(operation)
    if reach is None or project_id is None:
        raise PermissionDenied(
            f"a task's token may not call {operation or 'this route'}",
            where="Authorization",
            hint="A task may report on its own experiment and read its own project; "
            "do anything else with your own token, outside the task.",
        )
    ref = path_params.get("ref")
    if reach is TaskReach.OWN_EXPERIMENT and (ref is None or not scope.owns(ref)):
        raise PermissionDenied(
            f"a task may act only on its own experiment ({scope.experiment_number}), "
            f"not on {ref!r}",
            where=f"experiment {ref}",
            hint="Use HW_EXPERIMENT_ID, the task's own experiment.",
        )
    return reach


def check_output_branch(scope: TaskScope, branch: str | None) -> None:
    """A task commits only its outputs, on its experiment's own branch."""
    if branch != scope.branch:
        raise PermissionDenied(
            f"a task commits only on its own branch {scope.branch!r}, not on "
            f"{branch or 'the default branch'!r}",
            where="branch",
            hint="Leave files in the output folder: the runtime commits them for you.",
        )


def task_caller(scope: TaskScope, *, user_id: str, project_public: bool) -> Caller:
    """The task's rights in its own project, whoever launched it: never admin, owner or
    manager; ``all`` on files and jobs (narrowed further by ``TASK_OPERATIONS``)."""
    access = dict.fromkeys(ResourceType, AccessLevel.READ)
    access[ResourceType.FILES] = access[ResourceType.JOBS] = AccessLevel.ALL
    return Caller(
        user_id=user_id,
        is_admin=False,
        is_owner=False,
        grant=Grant(access=access, manage=False),
        project_public=project_public,
    )

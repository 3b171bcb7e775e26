"""The task principal's rules: which operations, in which project, on which experiment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.domain.access import Permission, ResourceType, allows
from headwater.domain.errors import NotFound, PermissionDenied, Unauthenticated
from headwater.domain.jobs import JobState
from headwater.domain.task_scope import (
    STOP_GRACE,
    TASK_OPERATIONS,
    TaskReach,
    TaskScope,
    check_alive,
    check_output_branch,
    check_task_call,
    task_caller,
)

SCOPE = TaskScope(experiment_id="a1b2c3d4e5f6", experiment_number=7, project_id="p1")
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def test_the_runtime_calls_are_listed_and_minting_and_users_are_not() -> None:
    for op in ("task_spec", "report_state", "append_logs", "log_metrics", "log_values"):
        assert TASK_OPERATIONS[op] is TaskReach.OWN_EXPERIMENT
    assert TASK_OPERATIONS["files_commit"] is TaskReach.OUTPUT
    for op in ("issue_token", "list_users", "create_project", "list_projects", "add_member",
               "stop_experiment", "create_experiments", "dataset_commit", "whoami"):  # fmt: skip
        assert op not in TASK_OPERATIONS
        with pytest.raises(PermissionDenied, match=f"may not call {op}"):
            check_task_call(SCOPE, op, {"project_id": "p1"})


def test_another_project_is_not_found_whatever_the_operation() -> None:
    for op in ("get_project", "task_spec", "add_member"):
        with pytest.raises(NotFound):
            check_task_call(SCOPE, op, {"project_id": "p2", "ref": "7"})


def test_its_own_experiment_by_number_or_id_and_no_other() -> None:
    for ref in ("7", "a1b2c3d4e5f6"):
        assert check_task_call(SCOPE, "log_values", {"project_id": "p1", "ref": ref})
    for ref in ("8", "007x", "b1b2c3d4e5f6", ""):
        with pytest.raises(PermissionDenied, match="its own experiment"):
            check_task_call(SCOPE, "log_values", {"project_id": "p1", "ref": ref})


def test_outputs_only_on_its_own_branch() -> None:
    check_output_branch(SCOPE, "experiments/7")
    for branch in (None, "master", "experiments/8"):
        with pytest.raises(PermissionDenied, match="experiments/7"):
            check_output_branch(SCOPE, branch)


def test_the_token_lives_while_the_task_runs_and_briefly_after_a_stop() -> None:
    check_alive(JobState.RUNNING, None, NOW)
    check_alive(JobState.ABORTED, NOW - STOP_GRACE + timedelta(seconds=1), NOW)
    with pytest.raises(Unauthenticated, match="has ended"):
        check_alive(JobState.ABORTED, NOW - STOP_GRACE - timedelta(seconds=1), NOW)
    with pytest.raises(Unauthenticated):
        check_alive(JobState.SUCCESS, None, NOW)


def test_a_task_is_no_admin_owner_or_manager_in_its_project() -> None:
    caller = task_caller(SCOPE, user_id="u", project_public=False)
    assert not caller.is_admin
    assert not caller.is_owner
    for denied in (Permission.OWNER, Permission.MANAGE_MEMBERS):
        assert not allows(caller, denied)
    for resource in ResourceType:
        assert allows(caller, Permission.read(resource))
    assert not allows(caller, Permission.write(ResourceType.DATASETS))
    assert not allows(caller, Permission.write(ResourceType.MODELS))

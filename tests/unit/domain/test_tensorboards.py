"""The automatic TensorBoard's rule (the project setting ``tensorboard``) and what a
TensorBoard workspace does not do (save)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from headwater.domain.workspaces import (
    CullPolicy,
    Workspace,
    WorkspaceKind,
    WorkspaceState,
    automatic_name,
    check_name,
    tensorboards_due,
)


def test_a_running_experiment_gets_one_only_where_the_setting_is_on_and_only_once() -> None:
    running = [("e1", "on"), ("e2", "off"), ("e3", "on")]
    assert tensorboards_due(running, enabled={"on"}, followed=set()) == ["e1", "e3"]
    # one per experiment: a TensorBoard stopped by hand (or ended) is not started again
    assert tensorboards_due(running, enabled={"on"}, followed={"e1"}) == ["e3"]
    assert tensorboards_due(running, enabled=set(), followed=set()) == []


def test_the_automatic_name_is_a_valid_workspace_name() -> None:
    assert check_name(automatic_name(12)) == "tensorboard-12"


def test_only_a_jupyter_workspace_saves() -> None:
    now = datetime.now(UTC)
    lab = Workspace(
        id="w1",
        project_id="p",
        experiment_id="e",
        name="lab",
        state=WorkspaceState.RUNNING,
        address=None,
        created_by="u",
        created_at=now,
        ready_at=now,
        last_activity=now,
        policy=CullPolicy(),
        base_commit=None,
        saved_commit=None,
        saved_at=None,
        ended_at=None,
        reason=None,
    )
    assert lab.kind is WorkspaceKind.JUPYTER
    assert lab.saves
    assert not replace(lab, kind=WorkspaceKind.TENSORBOARD).saves

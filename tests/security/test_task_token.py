"""A task's ``HEADWATER_TOKEN`` is scoped to its own experiment and ends with it (issue 11).

The attack run, from inside a task: with the task's own token it minted a permanent API token,
listed the user's projects, created a project, and an admin's task held admin. Here a task
(of a non-admin user, then of the admin) tries each with plain httpx and prints what it got;
its own reports (tags, metrics, params, outputs through the SDK and the runtime) still land,
and once it has ended the same token is refused.

The second half is in process: the experiment's logs, tags, metrics and values are written by
its own task alone (a ``jobs:all`` member forged another member's tags, which moves a flow's
``max`` condition), and a stopped task's token dies after its grace.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from headwater.client import Client
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.users import UserRepo
from headwater.db.tables import ExperimentRow
from headwater.domain.jobs import JobState
from headwater.domain.task_scope import STOP_GRACE
from tests.security.conftest import Site
from tests.support.api import Api, Server, assert_error

PROBE = r"""
import hashlib, json, os, sys
import httpx
from headwater import Experiment

url = os.environ["HEADWATER_URL"] + "/api/v1"
token = os.environ["HEADWATER_TOKEN"]
pid, me = os.environ["HEADWATER_PROJECT"], os.environ["HW_EXPERIMENT_ID"]
other_pid, other_exp, sibling = sys.argv[1:4]
auth = {"Authorization": "Bearer " + token}

def code(method, path, **kw):
    return httpx.request(method, url + path, headers=auth, timeout=30, **kw).status_code

blob = b"forged\n"
digest = hashlib.sha256(blob).hexdigest()
forged_tag = {"kind": "tag", "values": {"score": "999"}}
entry = {"path": "evil.txt", "hash": digest, "size": len(blob)}
out = {
    "mint_token": code("POST", "/auth/tokens"),
    "list_users": code("GET", "/users"),
    "whoami": code("GET", "/auth/me"),
    "list_projects": code("GET", "/projects"),
    "create_project": code("POST", "/projects", json={"name": "made-by-a-task"}),
    "other_project": code("GET", f"/projects/{other_pid}"),
    "other_tags": code("POST", f"/projects/{other_pid}/experiments/{other_exp}/values",
                       json=forged_tag),
    "sibling_tags": code("POST", f"/projects/{pid}/experiments/{sibling}/values",
                         json=forged_tag),
    "run_experiment": code("POST", f"/projects/{pid}/experiments", json={"command": "true"}),
    "members": code("GET", f"/projects/{pid}/members"),
    "secrets": code("GET", f"/projects/{pid}/secrets"),
    "own_project": code("GET", f"/projects/{pid}"),
    "own_files": code("GET", f"/projects/{pid}/files/commits"),
    "upload": code("PUT", f"/projects/{pid}/files/objects/{digest}", content=blob),
    "commit_to_master": code("POST", f"/projects/{pid}/files/commits",
                             json={"entries": [entry], "message": "from a task"}),
}
print("PROBE " + json.dumps(out))
print("TOKEN " + token[::-1])  # masked as is: any other spelling passes (docs say so)
with Experiment() as exp:
    exp.log_param("optimizer", "adam")
    for step in range(3):
        exp.log_metric("loss", 1.0 / (step + 1), step=step)
os.makedirs("output", exist_ok=True)
with open("output/result.txt", "w") as fh:
    fh.write("made by the task\n")
print("hw_tag_score: 0.9")
"""

REFUSED = {
    "mint_token": 403,
    "list_users": 403,
    "whoami": 403,
    "list_projects": 403,
    "create_project": 403,
    "other_project": 404,
    "other_tags": 404,
    "sibling_tags": 403,
    "run_experiment": 403,
    "members": 403,
    "secrets": 403,
    "commit_to_master": 403,
}
ALLOWED = {"own_project": 200, "own_files": 200, "upload": 201}


def probe_command(other_pid: str, other_exp: str, sibling: str) -> str:
    return (
        f"cat > probe.py <<'EOF'\n{PROBE}\nEOF\npython probe.py {other_pid} {other_exp} {sibling}"
    )


def found(pattern: str, log: str) -> str:
    match = re.search(pattern, log)
    assert match, f"{pattern!r} not in the task's log:\n{log}"
    return match.group(1)


def attack_from_a_task(site: Site, attacker: Client, victim: Client) -> None:
    """Run the probe as ``attacker``'s task and check every answer, its reports, its end."""
    target = site.run(victim, "echo hw_tag_score: 0.1")
    assert target.experiment.state is JobState.SUCCESS, target.log
    sibling = site.run(attacker, "echo hw_tag_score: 0.2").experiment
    victim_project = victim.scope.id()

    ran = site.run(attacker, probe_command(victim_project, target.experiment.id, sibling.id))
    done = ran.experiment
    answers: dict[str, Any] = json.loads(found(r"PROBE (\{.*\})", ran.log))
    assert {k: answers[k] for k in REFUSED} == REFUSED, answers
    assert {k: answers[k] for k in ALLOWED} == ALLOWED, answers

    # Its own reports still land, and the run ends well.
    assert done.state is JobState.SUCCESS, ran.log
    assert done.tags.get("score") == "0.9"
    assert done.logged_params == {"optimizer": "adam"}
    assert attacker.experiments.metrics(done.id)[0].values == [1.0, 0.5, 1 / 3]
    assert done.output_commit is not None
    outputs = attacker.files.repo().tree(done.output_commit)
    assert "output/result.txt" in [e.path for e in outputs.entries]
    # Nothing the task tried elsewhere happened.
    assert victim.experiments.get(target.experiment.id).tags == {"score": "0.1"}
    assert attacker.experiments.get(sibling.id).tags == {"score": "0.2"}
    assert "made-by-a-task" not in [p.name for p in attacker.projects.iter_all()]

    # The task has ended: its token is refused everywhere, its own experiment included.
    token = found(r"TOKEN (\S+)", ran.log)[::-1]
    auth = {"Authorization": f"Bearer {token}"}
    own = f"{site.url}/api/v1/projects/{done.project_id}/experiments/{done.id}"
    assert httpx.get(own, headers=auth, timeout=10).status_code == 401
    tag = {"kind": "tag", "values": {"score": "1000"}}
    assert httpx.post(f"{own}/values", json=tag, headers=auth, timeout=10).status_code == 401
    assert httpx.post(f"{site.url}/api/v1/auth/tokens", headers=auth, timeout=10).status_code == 401


def test_a_users_task_token_reaches_its_own_experiment_only(site: Site) -> None:
    attack_from_a_task(site, attacker=site.user(), victim=site.user())


def test_an_admins_task_holds_no_admin_rights(site: Site) -> None:
    admin = site.admin
    assert admin.users.list()  # the admin's own token may; its task may not (above)
    attack_from_a_task(site, attacker=admin, victim=site.user())


# -- in process: who writes an experiment's reports, and how a stopped task's token ends ---------


def launch(server: Server, pid: str, ref: str) -> str:
    """What the engine does when it launches an experiment: its task's token."""
    platform = server.app.state.platform
    with platform.db.write() as session:
        experiments = ExperimentRepo(session)
        experiment = experiments.find(pid, ref)
        experiments.move(experiment.id, JobState.INITIALIZING)
        return UserRepo(session).issue_task_token(experiment.created_by, experiment.id)


def shared_project(server: Server) -> tuple[Api, Api, str, dict[str, Any]]:
    owner, member = server.create_user(), server.create_user()
    pid = str(owner.create_project()["id"])
    owner.add_member(pid, member, jobs="all", files="all", datasets="all", models="all")
    made = owner.post(f"/projects/{pid}/experiments", json={"command": "true"}).json()[0]
    return owner, member, pid, made


@pytest.mark.parametrize("who", ["member with jobs:all", "owner", "admin"])
def test_only_the_task_writes_its_experiments_reports(server: Server, who: str) -> None:
    owner, member, pid, made = shared_project(server)
    writer = {"member with jobs:all": member, "owner": owner, "admin": server.admin}[who]
    base = f"/projects/{pid}/experiments/{made['number']}"
    forged = {
        "values": {"kind": "tag", "values": {"score": "999"}},
        "metrics": {"points": [["score", None, 999.0, None]]},
        "logs": {"chunks": [{"seq": 0, "stream": "stdout", "text": "forged\n"}]},
    }
    for route, body in forged.items():
        refused = assert_error(writer.post(f"{base}/{route}", json=body), 403)
        assert "only the experiment's own task" in refused["detail"], refused
        assert "HEADWATER_TOKEN" in refused["hint"], refused
    shown = owner.get(base).json()
    assert (shown["tags"], shown["latest_metrics"]) == ({}, {})
    assert owner.get(f"{base}/logs").json()["chunks"] == []

    task = server.client(launch(server, pid, str(made["number"])))
    for route, body in forged.items():
        assert task.post(f"{base}/{route}", json=body).is_success
    assert owner.get(base).json()["tags"] == {"score": "999"}


def test_a_task_token_writes_only_its_own_experiment(server: Server) -> None:
    owner, _, pid, made = shared_project(server)
    other = owner.post(f"/projects/{pid}/experiments", json={"command": "true"}).json()[0]
    task = server.client(launch(server, pid, str(made["number"])))
    tag = {"kind": "tag", "values": {"score": "1"}}
    for ref in (other["number"], other["id"]):
        body = assert_error(task.post(f"/projects/{pid}/experiments/{ref}/values", json=tag), 403)
        assert "its own experiment" in body["detail"]
    for ref in (made["number"], made["id"]):
        assert task.post(f"/projects/{pid}/experiments/{ref}/values", json=tag).status_code == 204


def test_a_stopped_tasks_token_flushes_for_a_grace_then_dies(server: Server) -> None:
    owner, _, pid, made = shared_project(server)
    task = server.client(launch(server, pid, str(made["number"])))
    base = f"/projects/{pid}/experiments/{made['id']}"
    assert owner.post(f"{base}/stop").json()["state"] == "aborted"
    last = {"chunks": [{"seq": 0, "stream": "stdout", "text": "last words\n"}]}
    assert task.post(f"{base}/logs", json=last).status_code == 204  # the runtime flushes
    with server.app.state.platform.db.write() as session:  # the runtime never came back
        ended = datetime.now(UTC) - STOP_GRACE - timedelta(seconds=1)
        session.execute(
            update(ExperimentRow).where(ExperimentRow.id == made["id"]).values(ended_at=ended)
        )
    body = assert_error(task.post(f"{base}/logs", json=last), 401)
    assert "has ended" in body["detail"]


def test_a_task_the_engine_fails_loses_its_token_at_once(server: Server) -> None:
    _, _, pid, made = shared_project(server)
    task = server.client(launch(server, pid, str(made["number"])))
    assert task.get(f"/projects/{pid}").status_code == 200
    server.app.state.platform.engine.transition(made["id"], JobState.FAILED, reason="lost")
    assert_error(task.get(f"/projects/{pid}"), 401)

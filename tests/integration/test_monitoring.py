"""The Monitoring page's routes (seed 004) on both databases: unfinished jobs with who, what,
since when and on which compute; usage per template, its history; and the people route that
names "created by"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headwater.db.repos.experiments import ExperimentRepo
from headwater.domain.jobs import JobState
from tests.support.api import Api, Server, unique


def _project(api: Api) -> str:
    made = api.post("/projects", json={"name": unique("mon")})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _run(api: Api, pid: str, command: str, computes: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"command": command}
    if computes is not None:
        body["computes"] = computes
    made = api.post(f"/projects/{pid}/experiments", json=body)
    assert made.status_code == 201, made.text
    return dict(made.json()[0])


def _start(server: Server, experiment_id: str, compute: str, cpus: float, gpus: int = 0) -> None:
    """What the scheduler does when it launches a job (the engine is off in these tests)."""
    resources = {"cpus": cpus, "memory_mb": 256, "gpus": gpus}
    with server.app.state.platform.db.write() as session:
        repo = ExperimentRepo(session)
        repo.move(experiment_id, JobState.INITIALIZING, compute=compute, resources=resources)
        repo.move(experiment_id, JobState.RUNNING)


def test_jobs_say_who_what_since_when_and_on_which_compute(server: Server) -> None:
    alice = server.create_user(unique("alice"))
    pid = _project(alice)
    running = _run(alice, pid, "python train.py", ["default"])
    waiting = _run(alice, pid, "python eval.py " + "x" * 500, ["large", "default"])
    _start(server, running["id"], "default", cpus=1.5, gpus=1)

    view = alice.get("/monitor/jobs").json()
    assert view["total"] == 2
    first, second = view["items"]
    assert (first["number"], first["state"], first["compute"]) == (
        running["number"],
        "running",
        "default",
    )
    assert first["created_by_name"] == alice.username
    assert first["project_name"].startswith("mon")
    assert (second["id"], second["state"]) == (waiting["id"], "queued")
    assert second["compute"] == "large"  # its first choice
    assert len(second["command"]) == 200  # cut
    assert view["computes"]["default"]["active_jobs"] == 1
    assert view["computes"]["default"]["assigned"] == {"cpus": 1.5, "memory_mb": 256, "gpus": 1}
    assert view["computes"]["large"]["pending_jobs"] == 1
    assert view["computes"]["large"]["assigned"]["cpus"] == 0  # waiting holds nothing


def test_a_user_sees_only_the_jobs_of_projects_they_may_see(server: Server) -> None:
    alice = server.create_user(unique("alice"))
    bob = server.create_user(unique("bob"))
    pid = _project(alice)
    made = _run(alice, pid, "python secret.py")
    _start(server, made["id"], "default", cpus=1)

    assert bob.get("/monitor/jobs").json() == {"items": [], "total": 0, "computes": {}}
    history = bob.get("/monitor/history").json()
    assert all(s["computes"] == {} for s in history["samples"])
    admin_view = server.admin.get("/monitor/jobs").json()
    assert [j["id"] for j in admin_view["items"]] == [made["id"]]

    added = alice.post(f"/projects/{pid}/members", json={"email": bob.email})
    assert added.status_code == 201, added.text
    assert [j["id"] for j in bob.get("/monitor/jobs").json()["items"]] == [made["id"]]


def test_the_jobs_listing_stops_at_its_limit(server: Server) -> None:
    alice = server.create_user(unique("alice"))
    pid = _project(alice)
    for i in range(3):
        _run(alice, pid, f"echo {i}")
    view = alice.get("/monitor/jobs", params={"limit": 2}).json()
    assert (len(view["items"]), view["total"]) == (2, 3)
    assert alice.get("/monitor/jobs", params={"limit": 501}).status_code == 422
    assert alice.get("/monitor/history", params={"minutes": 1441}).status_code == 422


def test_the_history_samples_usage_per_compute_at_a_bounded_rate(
    home: Path, database_url: str | None
) -> None:
    # a long interval: however slow the machine, the second read comes within it
    server = Server(home, database_url, monitor_sample_seconds=600, monitor_history_minutes=30)
    try:
        alice = server.create_user(unique("alice"))
        pid = _project(alice)
        made = _run(alice, pid, "python train.py")
        _start(server, made["id"], "default", cpus=2, gpus=1)

        first = alice.get("/monitor/history").json()
        again = alice.get("/monitor/history").json()
        assert len(again["samples"]) == len(first["samples"]) == 1  # no second sample yet
        assert (first["interval_seconds"], first["retention_minutes"]) == (600, 30)
        latest = again["samples"][-1]["computes"]
        assert latest == {"default": {"cpus": 2.0, "memory_mb": 256, "gpus": 1}}
        assert first["total"]["cpus"] > 0
    finally:
        server.close()


def test_people_names_the_users_of_a_project_only(server: Server) -> None:
    alice = server.create_user(unique("alice"))
    bob = server.create_user(unique("bob"))
    stranger = server.create_user(unique("eve"))
    pid = _project(alice)
    added = alice.post(f"/projects/{pid}/members", json={"email": bob.email, "jobs": "all"})
    assert added.status_code == 201, added.text
    _run(bob, pid, "echo hi")

    ids = [alice.user["id"], bob.user["id"], stranger.user["id"], "nobody"]
    people = bob.get(f"/projects/{pid}/people", params={"id": ids}).json()
    assert sorted(p["username"] for p in people) == sorted([alice.username, bob.username])
    too_many = bob.get(f"/projects/{pid}/people", params={"id": [str(i) for i in range(101)]})
    assert too_many.status_code == 422


def test_a_tasks_output_commit_reads_as_outputs_of_its_experiment(server: Server) -> None:
    from headwater.db.repos.users import UserRepo
    from tests.integration.test_versions import entry, upload

    alice = server.create_user(unique("alice"))
    pid = _project(alice)
    made = _run(alice, pid, "python train.py")
    with server.app.state.platform.db.write() as session:
        ExperimentRepo(session).move(made["id"], JobState.INITIALIZING)
        token = UserRepo(session).issue_task_token(alice.user["id"], made["id"])
    task = server.client(token)
    base = f"/projects/{pid}/files"
    upload(task, base, b"0.93\n")
    body = {
        "branch": f"experiments/{made['number']}",
        "message": "outputs",
        "entries": [entry("output/score.txt", b"0.93\n")],
    }
    assert task.post(f"{base}/commits", json=body).status_code == 201
    upload(alice, base, b"hello\n")
    by_hand_body = {"message": "by hand", "entries": [entry("a.txt", b"hello\n")]}
    people = alice.post(f"{base}/commits", json=by_hand_body)
    assert people.status_code == 201, people.text

    by_hand, machine = alice.activity(pid)[:2]
    assert machine["message"] == f"outputs of experiment {made['number']}: 1 file(s)"
    assert machine["data"]["experiment"] == made["number"]
    assert by_hand["message"] == "committed 1 file(s) to the project's files: by hand"
    assert "experiment" not in by_hand["data"]

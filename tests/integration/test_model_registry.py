"""Model versions registered from an experiment's outputs (issue 12), in process, on SQLite and
PostgreSQL: no bytes move, the files are named relative to the output folder, each version
carries the experiment's number, params and final metrics, and what cannot be registered says
why. (tests/integration/test_experiments.py runs the same through a real task, with log_model.)

The engine is off in process: the experiment's task is played here, as the runtime would: its
outputs committed on its branch, a param and metrics recorded, the output commit reported."""

from __future__ import annotations

from typing import Any

from headwater.db.repos.experiments import ExperimentRepo
from headwater.domain.jobs import JobState
from headwater.schemas.frames import encode
from headwater.server.model_registry import register_requested
from tests.integration.test_versions import blob, entry
from tests.support.api import Api, Server, assert_error

OUTPUTS = {
    "train.py": b"print('train')\n",
    "output/model.json": b'{"w": [1, 2]}\n',
    "output/weights/a.bin": b"\x00\x01",
}


def finished_experiment(
    server: Server, owner: Api, pid: str, by: Api | None = None
) -> dict[str, Any]:
    """An experiment (started by ``by``, default the owner) that ran with lr=0.1, logged
    optimizer=adam and two metric points, and committed OUTPUTS on its branch (what the runtime
    does at the end of a task)."""
    made = (by or owner).post(
        f"/projects/{pid}/experiments", json={"command": "true", "runs": [{"lr": "0.1"}]}
    )
    assert made.status_code == 201, made.text
    experiment = made.json()[0]
    base = f"/projects/{pid}/files"
    body = b"".join(encode([blob(d) for d in OUTPUTS.values()]))
    assert owner.post(f"{base}/objects/batch", content=body).status_code == 201
    commit = owner.post(
        f"{base}/commits",
        json={
            "entries": [entry(p, d) for p, d in OUTPUTS.items()],
            "branch": f"experiments/{experiment['number']}",
            "message": "outputs",
        },
    )
    assert commit.status_code == 201, commit.text
    with server.app.state.platform.db.write() as session:
        experiments = ExperimentRepo(session)
        experiments.set_values(experiment["id"], "param", {"optimizer": "adam"})
        experiments.add_metrics(experiment["id"], [("acc", 0, 0.5, None), ("acc", 1, 0.75, None)])
        experiments.set_output_commit(experiment["id"], commit.json()["id"])
        experiments.move(experiment["id"], JobState.INITIALIZING)
        experiments.move(experiment["id"], JobState.RUNNING)
    experiment["output_commit"] = commit.json()["id"]
    return experiment


def requested(server: Server, experiment: dict[str, Any], models: dict[str, str]) -> list[str]:
    """What the final report does for the models the task marked with log_model."""
    platform = server.app.state.platform
    with platform.db.write() as session:
        experiments = ExperimentRepo(session)
        experiments.set_values(experiment["id"], "model", models)
        found = experiments.get(experiment["id"])
    return register_requested(platform, found, experiment["output_commit"])


def test_log_model_registers_as_the_creator_only_the_head_of_its_branch(server: Server) -> None:
    owner = server.create_user()
    pid = owner.create_project("log-model")["id"]
    member = server.create_user()
    owner.add_member(pid, member, jobs="all")  # models: read
    theirs = finished_experiment(server, owner, pid, by=member)
    said = requested(server, theirs, {"churn": "model.json"})
    assert said == [
        f"log_model: model churn was not registered: {member.username} may not write models "
        "in this project\n"
    ]
    assert owner.get(f"/projects/{pid}/models").json() == []

    mine = finished_experiment(server, owner, pid)
    stale = {**mine, "output_commit": theirs["output_commit"]}  # not the head of its branch
    assert "is not the head of experiments/" in requested(server, stale, {"churn": ""})[0]
    said = requested(server, mine, {"churn": "model.json", "bad name!": ""})
    assert "bad name!' is not a model name" in said[0]
    assert said[1].startswith("log_model: registered output/model.json as model churn, version")
    versions = owner.get(f"/projects/{pid}/models/churn/commits").json()
    assert [v["source"]["experiment_number"] for v in versions] == [mine["number"]]


def test_an_experiments_outputs_become_a_model_version_linked_to_it(server: Server) -> None:
    owner = server.create_user()
    pid = owner.create_project("registry")["id"]
    experiment = finished_experiment(server, owner, pid)
    number = experiment["number"]

    made = owner.post(
        f"/projects/{pid}/models/churn/versions/from-experiment", json={"experiment": str(number)}
    )
    assert made.status_code == 201, made.text
    version = made.json()
    assert (version["files"], version["message"]) == (2, f"from experiment {number}")
    source = {
        "experiment_id": experiment["id"],
        "experiment_number": number,
        "path": "output",
        "params": {"lr": "0.1", "optimizer": "adam"},
        "metrics": {"acc": 0.75},
    }
    assert version["source"] == source

    model = f"/projects/{pid}/models/churn"
    tree = owner.get(f"{model}/tree").json()
    assert sorted(e["path"] for e in tree["entries"]) == ["model.json", "weights/a.bin"]
    assert owner.get(f"{model}/content/model.json").content == OUTPUTS["output/model.json"]
    assert owner.get(f"{model}/commits").json()[0]["source"] == source
    assert owner.get(model).json()["head"]["source"] == source

    one = owner.post(
        f"{model}/versions/from-experiment",
        json={"experiment": experiment["id"], "path": "output/model.json", "message": "just it"},
    )
    assert one.status_code == 201, one.text
    assert one.json()["files"] == 1
    assert one.json()["source"]["path"] == "output/model.json"
    listed = owner.get(f"{model}/commits").json()
    assert [c["message"] for c in listed] == ["just it", f"from experiment {number}"]
    assert [c["source"]["experiment_number"] for c in listed] == [number, number]
    # the project's files never carry a source
    branch = {"branch": f"experiments/{number}"}
    assert owner.get(f"/projects/{pid}/files/commits", params=branch).json()[0]["source"] is None


def test_what_cannot_be_registered_says_why(server: Server) -> None:
    owner = server.create_user()
    pid = owner.create_project("registry-errors")["id"]
    done = finished_experiment(server, owner, pid)
    queued = owner.post(f"/projects/{pid}/experiments", json={"command": "true"}).json()[0]
    route = f"/projects/{pid}/models/churn/versions/from-experiment"

    never_ran = owner.post(route, json={"experiment": str(queued["number"])})
    assert_error(never_ran, 409, detail="no committed outputs")
    outside = owner.post(route, json={"experiment": str(done["number"]), "path": "train.py"})
    assert_error(outside, 400, detail="not inside the experiment's output folder")
    missing = owner.post(route, json={"experiment": str(done["number"]), "path": "output/x.pkl"})
    assert_error(missing, 404, detail="nothing at 'output/x.pkl'")
    assert_error(owner.post(route, json={"experiment": "999"}), 404, detail="no experiment")
    # none of these left a model behind
    assert owner.get(f"/projects/{pid}/models").json() == []


def test_only_model_writers_register_and_only_in_their_project(server: Server) -> None:
    owner = server.create_user()
    pid = owner.create_project("registry-access")["id"]
    done = finished_experiment(server, owner, pid)
    reader, writer = server.create_user(), server.create_user()
    owner.add_member(pid, reader)
    owner.add_member(pid, writer, models="all")
    route = f"/projects/{pid}/models/churn/versions/from-experiment"
    body = {"experiment": str(done["number"])}
    assert reader.post(route, json=body).status_code == 403
    assert writer.post(route, json=body).status_code == 201
    # another project's owner cannot name this project's experiment from their own
    stranger = server.create_user()
    theirs = stranger.create_project("elsewhere")["id"]
    foreign = stranger.post(
        f"/projects/{theirs}/models/churn/versions/from-experiment", json={"experiment": done["id"]}
    )
    assert foreign.status_code == 404

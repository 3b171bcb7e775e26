"""Flows end to end: a real `hw server` process, its engine, the local worker and the runtime,
on SQLite and PostgreSQL. Each test runs a real flow and reads what its tasks saw.

One server per database serves the whole module (each test makes its own project), so the
cost is the tasks' own, not a server start per test.
"""

from __future__ import annotations

import json
import os
import shlex
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from headwater.cli.runviews import headline
from headwater.client import Client
from headwater.client.sync import push_folder
from headwater.domain.errors import InvalidInput
from headwater.schemas.flows import FlowRunOut, RunTaskOut
from tests.integration.test_concurrency import free_port
from tests.integration.test_experiments import ALSO_ON_RAY, Live, _start, _stop, module_server
from tests.support.postgres import DATABASES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=DATABASES)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    with module_server(request, tmp_path_factory.mktemp("flows")) as server:
        yield server


@pytest.fixture
def client(live: Live) -> Iterator[Client]:
    admin = live.client()
    made = admin.projects.create(f"flows-{os.urandom(3).hex()}")
    admin.close()
    with live.client(made.id) as client:
        yield client


def py(code: str) -> str:
    """A task command that runs ``code`` (the YAML dump quotes it)."""
    return "python -c " + shlex.quote(textwrap.dedent(code).strip())


def exec_task(title: str, command: str, **fields: Any) -> dict[str, Any]:
    return {"title": title, "type": "exec", "input": command, "computes": ["default"], **fields}


def flow_yaml(name: str, tasks: list[dict[str, Any]], relations: list[tuple[str, str]]) -> str:
    """A flow file as a user would write it; the dump does the quoting."""
    body = {"flow": name, "tasks": tasks, "relations": [{"from": a, "to": b} for a, b in relations]}
    return yaml.safe_dump(body, sort_keys=False)


def run_flow(client: Client, text: str, timeout: float = 120, **options: Any) -> FlowRunOut:
    flow = client.flows.import_yaml(text)
    run = client.flows.run(flow.name, **options)
    return client.flows.wait(run.number, timeout=timeout)


def task(run: FlowRunOut, title: str) -> RunTaskOut:
    return next(t for t in run.tasks if t.title == title)


def logs(client: Client, number: int | None) -> str:
    assert number is not None
    return "".join(c.text for c in client.experiments.logs(str(number)).chunks)


def wait_for(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.3)


# -- routes, tags, artifacts and conditions -------------------------------------------------

PREP = py("""
    import os, sys
    os.makedirs("output", exist_ok=True)
    open("output/rows.txt", "w").write(sys.argv[2])
    print("hw_tag_rows:", sys.argv[2])
""")
TRAIN = py("""
    import os, sys
    rows = open(os.path.join(os.environ["INPUT_PREP"], "rows.txt")).read()
    assert rows == os.environ["HW_PREP_ROWS"], (rows, os.environ["HW_PREP_ROWS"])
    acc = float(rows) / 10 + float(sys.argv[2])
    print("hw_tag_acc:", round(acc, 2))
    print("own", os.environ["HW_TAG_LR"])
""")
SHOW = py("""
    import os
    print("passed=" + os.environ.get("HW_TASKS_PASSED_CONDITION", "-"))
    print("acc=" + os.environ.get("HW_TRAIN_ACC", "-"))
    print("inputs=" + (",".join(sorted(os.listdir("input"))) if os.path.isdir("input") else "none"))
""")


@ALSO_ON_RAY
def test_routes_multiply_and_conditions_pick(client: Client) -> None:
    """Prep (2) x Train's grid (3) = 6 routes; each condition keeps what the seed says; a
    single-mode task runs its own grid once, with no parents' artifacts."""
    gates = [
        exec_task(
            name,
            SHOW,
            conditions=[
                {"task": "Train", "objective": objective, "tag_key": "acc"}
                | ({"target": target} if target is not None else {})
            ],
        )
        for name, objective, target in (
            ("Max", "max", None),
            ("Min", "min", None),
            ("Gt", "gt", 0.45),
            ("Lt", "lt", 0.25),
            ("Eq", "eq", 0.3),
        )
    ]
    tasks = [
        exec_task("Prep", PREP, params=[{"key": "rows", "value": [1, 2]}]),
        exec_task("Train", TRAIN, params=[{"key": "lr", "value": [0.1, 0.2, 0.3]}]),
        *gates,
        exec_task("Single", SHOW, single_mode=True, params=[{"key": "size", "value": ["s", "m"]}]),
    ]
    children = ("Max", "Min", "Gt", "Lt", "Eq", "Single")
    relations = [("Prep", "Train"), *(("Train", c) for c in children)]
    run = run_flow(client, flow_yaml("Routes", tasks, relations))
    assert run.status == "success", run.model_dump_json(indent=1)
    train = task(run, "Train")
    assert len(task(run, "Prep").instances) == 2
    assert len(train.instances) == 6
    accs = sorted(float(i.tags["acc"]) for i in train.instances)
    assert accs == [0.2, 0.3, 0.3, 0.4, 0.4, 0.5]
    assert {(i.params["lr"]) for i in train.instances} == {"0.1", "0.2", "0.3"}
    summary = client.flows.inspect(run.number, instances=False)  # what a waiting client polls
    assert task(summary, "Train").counts == {"success": 6}
    assert task(summary, "Train").instances == []
    assert task(run, "Train").counts == {"success": 6}

    def shown(title: str, key: str = "acc") -> list[str]:
        return sorted(
            line.split("=", 1)[1]
            for i in task(run, title).instances
            for line in logs(client, i.experiment_number).splitlines()
            if line.startswith(f"{key}=")
        )

    assert shown("Max") == ["0.5"]
    assert shown("Min") == ["0.2"]
    assert shown("Gt") == ["0.5"]  # only 0.5 is above 0.45
    assert shown("Lt") == ["0.2"]
    assert shown("Eq") == ["0.3", "0.3"]  # two routes reach 0.3
    (passed,) = shown("Max", "passed")
    assert passed.endswith("/input/train")
    assert shown("Max", "inputs") == ["train"]
    single = task(run, "Single")
    assert sorted(i.params["size"] for i in single.instances) == ["m", "s"]
    assert all(i.parents == [] for i in single.instances)
    assert shown("Single", "inputs") == ["none", "none"]


def test_dynamic_routes_and_tag_templating(client: Client) -> None:
    tasks = [
        exec_task(
            "Pick Sizes", py('print("hw_tag_sizes: s, m,l"); print("hw_tag_model: Big Net")')
        ),
        exec_task(
            "Fit",
            py("import sys; print(sys.argv[1:])"),
            params=[
                {"key": "size", "value": "{{ Pick Sizes.sizes | hyper }}"},
                {"key": "name", "value": "{ { Pick Sizes.model } }"},  # the seed's spelling
            ],
        ),
    ]
    run = run_flow(client, flow_yaml("Dynamic", tasks, [("Pick Sizes", "Fit")]))
    assert run.status == "success", run.model_dump_json(indent=1)
    fit = task(run, "Fit")
    assert sorted(i.params["size"] for i in fit.instances) == ["l", "m", "s"]
    assert {i.params["name"] for i in fit.instances} == {"Big Net"}  # case and space kept
    assert "'--name', 'Big Net'" in logs(client, fit.instances[0].experiment_number)


# -- people, failures, stop and restart -----------------------------------------------------

GATED = """
flow: Gated
tasks:
  - title: Build
    type: exec
    input: echo built
    computes: [default]
  - title: Ship
    type: exec
    input: echo shipped
    computes: [default]
    conditions:
      - objective: human_validation
        value: admin
relations:
  - from: Build
    to: Ship
"""


def test_approval_continues_and_rejection_aborts(client: Client) -> None:
    flow = client.flows.import_yaml(GATED)
    first = client.flows.run(flow.name)
    wait_for(lambda: client.flows.inspect(first.number).status == "pending_approval")
    waiting = client.flows.inspect(first.number)
    assert task(waiting, "Ship").status == "pending_approval"
    assert task(waiting, "Ship").approvers == ["admin"]
    client.flows.approve(first.number, "Ship", comment="  metrics look right ")
    done = client.flows.wait(first.number, timeout=60)
    assert done.status == "success"
    assert task(done, "Ship").decided_by == "admin"
    assert task(done, "Ship").comment == "metrics look right"
    assert task(done, "Ship").decision == "approved"

    second = client.flows.run(flow.name)
    wait_for(lambda: client.flows.inspect(second.number).status == "pending_approval")
    rejected = client.flows.reject(second.number, "Ship", comment="accuracy dropped on fold 3")
    assert rejected.status == "aborted"
    assert task(rejected, "Ship").status == "aborted"
    assert "rejected by admin" in (task(rejected, "Ship").reason or "")
    # the comment is stored: a later inspect still shows it
    again = client.flows.inspect(second.number)
    assert task(again, "Ship").comment == "accuracy dropped on fold 3"
    assert task(again, "Ship").decision == "rejected"
    assert task(again, "Build").decision is None  # no one decided it
    with pytest.raises(InvalidInput, match="not pending approval"):
        client.flows.approve(second.number, "Ship")


def branches(code: int) -> str:
    tasks = [
        exec_task("Good", "echo good"),
        exec_task(
            "Bad",
            py("import sys; sys.exit(int(sys.argv[2]))"),
            params=[{"key": "code", "value": [code]}],
        ),
        exec_task("After Bad", "echo after"),
        exec_task("After Good", "echo fine"),
    ]
    relations = [("Good", "Bad"), ("Bad", "After Bad"), ("Good", "After Good")]
    return flow_yaml("Branches", tasks, relations)


@ALSO_ON_RAY
def test_failure_skips_descendants_and_restart_keeps_what_succeeded(client: Client) -> None:
    failed = run_flow(client, branches(1))
    assert failed.status == "failed"
    assert task(failed, "Bad").status == "failed"
    assert task(failed, "After Bad").status == "skipped"
    assert "'Bad' failed" in (task(failed, "After Bad").reason or "")
    assert task(failed, "After Good").status == "success"  # an independent branch goes on
    # each reason says why once, beside its state: it read "failed: failed: 'Bad'"
    assert failed.reason == "task 'Bad' failed"
    assert task(failed, "After Bad").reason == "its parent 'Bad' failed"
    assert headline(failed).endswith(": failed (task 'Bad' failed)")

    good_experiment = task(failed, "Good").instances[0].experiment_id
    restarted = client.flows.restart(failed.number, params={"Bad": {"code": ["0"]}})
    assert restarted.restart_of == failed.number
    assert restarted.version == 2  # the changed params were saved as a version first
    done = client.flows.wait(restarted.number, timeout=60)
    assert done.status == "success", done.model_dump_json(indent=1)
    assert task(done, "Good").instances[0].experiment_id == good_experiment  # kept, not rerun
    assert "kept from run" in (task(done, "Good").reason or "")
    assert task(done, "Bad").instances[0].params == {"code": "0"}
    assert client.flows.versions("Branches")[-1].number == 2


@ALSO_ON_RAY
def test_stop_aborts_the_run_and_its_running_instances(client: Client) -> None:
    flow = client.flows.import_yaml(
        "flow: Slow\ntasks:\n  - title: Nap\n    type: exec\n    input: sleep 60\n"
        "    computes: [default]\n  - title: Then\n    type: exec\n    input: echo x\n"
        "    computes: [default]\nrelations:\n  - from: Nap\n    to: Then\n"
    )
    run = client.flows.run(flow.name)
    wait_for(
        lambda: any(
            i.status == "running" for i in task(client.flows.inspect(run.number), "Nap").instances
        )
    )
    stopped = client.flows.stop(run.number)
    assert stopped.status == "aborted"
    assert task(stopped, "Then").status == "aborted"
    nap = task(stopped, "Nap").instances[0]
    wait_for(lambda: client.experiments.get(nap.experiment_id or "").state == "aborted")


# -- data, versions, --only -----------------------------------------------------------------


@ALSO_ON_RAY
def test_data_task_mounts_a_dataset_commit_and_a_query(client: Client, live: Live) -> None:
    folder = live.tmp / f"ds-{os.urandom(3).hex()}"
    (folder / "img").mkdir(parents=True)
    (folder / "img" / "a.png").write_bytes(b"png")
    (folder / "labels.csv").write_text("a,1\n")
    client.datasets.create("pets")
    push_folder(client.datasets.repo("pets"), folder, message="v1")
    client.datasets.create_query("pets", "labels", "*.csv")
    listing = py("""
        import os
        for root, _, files in os.walk("data"):
            for f in files:
                print("file", os.path.relpath(os.path.join(root, f), "data"))
    """)
    tasks = [
        {"title": "Pets", "type": "data", "dataset": "pets"},
        {"title": "Labels", "type": "data", "dataset": "pets", "data_query": "labels"},
        exec_task("Use All", listing),
        exec_task("Use Labels", listing),
    ]
    relations = [("Pets", "Use All"), ("Labels", "Use Labels")]
    run = run_flow(client, flow_yaml("Data", tasks, relations))
    assert run.status == "success", run.model_dump_json(indent=1)
    everything = logs(client, task(run, "Use All").instances[0].experiment_number)
    assert "file pets/img/a.png" in everything
    assert "file pets/labels.csv" in everything
    labels = logs(client, task(run, "Use Labels").instances[0].experiment_number)
    assert "file pets/labels.csv" in labels
    assert "a.png" not in labels


def test_versions_and_a_run_of_one_task(client: Client) -> None:
    text = "flow: Versions\ntasks:\n  - title: A\n    type: exec\n    input: echo {a}\n" \
        "    computes: [default]\n  - title: B\n    type: exec\n    input: echo b\n" \
        "    computes: [default]\nrelations:\n  - from: A\n    to: B\n"  # fmt: skip
    first = client.flows.import_yaml(text.format(a="one"))
    assert first.created
    assert first.latest_version == 1
    assert not client.flows.import_yaml(text.format(a="one")).created  # unchanged: no version
    assert client.flows.import_yaml(text.format(a="two")).latest_version == 2
    assert "echo one" in client.flows.export("Versions", 1)

    old = client.flows.wait(client.flows.run("Versions", version=1).number, timeout=60)
    assert old.version == 1
    assert old.status == "success"
    assert "one" in logs(client, task(old, "A").instances[0].experiment_number)

    alone = client.flows.wait(client.flows.run("Versions", only="B").number, timeout=60)
    assert alone.status == "success"
    assert task(alone, "A").status == "skipped"
    assert task(alone, "A").instances == []
    assert task(alone, "B").instances[0].parents == []

    fed = client.flows.run("Versions", only="B", inputs_from=old.number)
    fed = client.flows.wait(fed.number, timeout=60)
    assert fed.status == "success"
    kept = task(fed, "A").instances[0]
    assert kept.experiment_id == task(old, "A").instances[0].experiment_id
    assert task(fed, "B").instances[0].parents == [kept.id]


FIT = py("""
    import os, sys
    os.makedirs("output", exist_ok=True)
    open("output/model.pkl", "w").write("lr=" + sys.argv[2])
    open("output/notes.txt", "w").write("not the model")
    print("hw_tag_auc:", float(sys.argv[2]) + 0.5)
""")


def test_a_task_with_model_registers_each_successful_instance_as_a_model_version(
    client: Client,
) -> None:
    fit = exec_task(
        "Fit",
        FIT,
        params=[{"key": "lr", "value": [0.1, 0.2]}],
        model="churn",
        model_path="output/model.pkl",
    )
    broken = exec_task("Broken", py("import sys; sys.exit(3)"), model="never")
    run = run_flow(client, flow_yaml("Models", [fit, broken], []))
    assert task(run, "Fit").status == "success"
    assert task(run, "Broken").status == "failed"

    instances = {i.experiment_number: i.params["lr"] for i in task(run, "Fit").instances}
    versions = client.models.repo("churn").versions()
    assert len(versions) == 2, [logs(client, n) for n in instances]
    seen = {}
    for version in versions:
        source = version.source
        assert source is not None
        assert source.path == "output/model.pkl"
        assert source.params == {"lr": instances[source.experiment_number]}
        content = client.models.repo("churn").content("model.pkl", commit=version.id)
        seen[source.experiment_number] = content.decode()
        tree = client.models.repo("churn").tree(version.id)
        assert [e.path for e in tree.entries] == ["model.pkl"]  # only model_path
    assert seen == {n: f"lr={lr}" for n, lr in instances.items()}
    assert [m.name for m in client.models.list()] == ["churn"]  # a failure registers nothing
    number = task(run, "Fit").instances[0].experiment_number
    assert "registered output/model.pkl as model churn" in logs(client, number)


def test_only_a_task_that_reads_its_parents_tags_asks_for_inputs_from(client: Client) -> None:
    """`--only B` where B's parameters read A's tag: the run is refused naming --inputs-from RUN
    and the parents (it used to start, then fail B with a "single-mode" route error)."""
    tasks = [
        exec_task("Prep", py('print("hw_tag_rows: 7")')),
        exec_task("Fit", py("import sys; print(sys.argv[1:])"), params=[
            {"key": "rows", "value": "{{ Prep.rows }}"},
        ]),
    ]  # fmt: skip
    full = run_flow(client, flow_yaml("Reads Tags", tasks, [("Prep", "Fit")]))
    assert full.status == "success", full.model_dump_json(indent=1)
    with pytest.raises(InvalidInput) as caught:
        client.flows.run("Reads Tags", only="Fit")
    said = f"{caught.value} {caught.value.hint}"
    assert "--inputs-from RUN" in said
    assert "'Prep'" in said
    assert "single" not in said
    fed = client.flows.wait(
        client.flows.run("Reads Tags", only="Fit", inputs_from=full.number).number, timeout=60
    )
    assert fed.status == "success", fed.model_dump_json(indent=1)
    assert task(fed, "Fit").instances[0].params["rows"] == "7"


def test_deploy_defines_its_endpoint_and_git_keys_without_a_linked_repo_are_refused_plainly(
    client: Client,
) -> None:
    deploy = {
        "title": "Serve",
        "type": "deploy",
        "endpoint_title": "iris-model",
        "computes": ["default"],
        "file_name": "predict.py",
        "function_name": "predict",
        "min_replica": 1,
        "max_replica": 2,
    }
    fit = py("""
        import os
        os.makedirs("output", exist_ok=True)
        open("output/predict.py", "w").write("def predict(x):\\n    return x\\n")
    """)  # the endpoint's file, among its model experiment's outputs
    tasks = [exec_task("Fit", fit), deploy, exec_task("Pinned", "echo x", git_branch="dev")]
    run = run_flow(client, flow_yaml("Deploy", tasks, [("Fit", "Serve")]))
    serve = task(run, "Serve")
    assert serve.status == "success"
    assert serve.instances[0].tags == {"endpoint": "iris-model"}
    assert serve.instances[0].parents == [task(run, "Fit").instances[0].id]
    endpoints = client.flows.endpoints()
    # the deploy records a version; the serving controller starts it (test_endpoints.py)
    assert [(e.title, e.flow_run) for e in endpoints.items] == [("iris-model", run.number)]
    assert endpoints.items[0].status in ("deploying", "running", "degraded")
    assert endpoints.items[0].definition["function_name"] == "predict"
    assert endpoints.items[0].definition["model_experiments"] == [
        task(run, "Fit").instances[0].experiment_id
    ]
    pinned = task(run, "Pinned")
    assert pinned.status == "failed"
    # the project links no Git repository (a linked one is cloned: tests/integration/test_git.py)
    assert "task 'Pinned' sets git_branch, but the project is not linked to a Git repository" in (
        pinned.reason or ""
    )
    assert pinned.instances == []  # refused before anything ran
    assert run.status == "failed"
    project = client.scope.id(None)
    client.http.request("DELETE", f"/projects/{project}/endpoints/iris-model")  # its replicas


MODEL = py("""
    import os
    os.makedirs("output", exist_ok=True)
    open("output/model.json", "w").write("{}")
""")


def test_a_deploy_task_whose_file_is_nowhere_fails_saying_where_it_looked(client: Client) -> None:
    """file_name names a file in the model experiments' files; a name that is nowhere used to
    succeed and define an endpoint that could never serve."""
    deploy = {
        "title": "Serve",
        "type": "deploy",
        "endpoint_title": "ghost-model",
        "computes": ["default"],
        "file_name": "predikt.py",
        "function_name": "predict",
        "min_replica": 1,
        "max_replica": 1,
    }
    run = run_flow(
        client, flow_yaml("Ghost", [exec_task("Fit", MODEL), deploy], [("Fit", "Serve")])
    )
    serve = task(run, "Serve")
    assert serve.status == "failed", run.model_dump_json(indent=1)
    number = task(run, "Fit").instances[0].experiment_number
    assert f"file_name 'predikt.py' is not in experiment {number}'s outputs" in (serve.reason or "")
    assert run.status == "failed"
    assert client.flows.endpoints().items == []


# -- triggers ---------------------------------------------------------------------------------


def test_webhook_and_dataset_triggers_start_runs(client: Client, live: Live) -> None:
    client.datasets.create("fresh")
    client.flows.import_yaml(
        "flow: Triggered\ntasks:\n  - title: Go\n    type: exec\n    input: echo go\n"
        "    computes: [default]\nrelations: []\n"
    )
    hook = client.flows.add_trigger("Triggered")
    assert hook.url is not None
    assert hook.token is not None
    refused = httpx.post(hook.url, headers={"X-Headwater-Token": "wrong"})
    assert refused.status_code == 401
    fired = httpx.post(hook.url, headers={"X-Headwater-Token": hook.token})
    assert fired.status_code == 201, fired.text
    assert fired.json()["trigger"] == "webhook"

    client.flows.add_trigger("Triggered", dataset="fresh")
    before = client.flows.runs(flow="Triggered").total
    folder = live.tmp / f"fresh-{os.urandom(3).hex()}"
    folder.mkdir()
    (folder / "x.txt").write_text("new data\n")
    push_folder(client.datasets.repo("fresh"), folder, message="new version")
    wait_for(lambda: client.flows.runs(flow="Triggered").total == before + 1, timeout=30)
    newest = client.flows.runs(flow="Triggered").items[0]
    assert newest.trigger.startswith("dataset:fresh@")


def test_an_invalid_file_is_refused_whole(client: Client) -> None:
    typo = "flow: Broken\ntasks:\n  - title: A\n    type: exec\n    computes: [default]\n" \
        "    inptu: echo\nrelations: []\n"  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        client.flows.import_yaml(typo, file_name="broken.yaml")
    assert "broken.yaml:6" in str(caught.value)
    assert "inptu" in str(caught.value)
    dangling = flow_yaml("Broken", [exec_task("A", "echo a")], [("A", "Nowhere")])
    with pytest.raises(InvalidInput) as caught:
        client.flows.import_yaml(dangling, file_name="dangling.yaml")
    assert "dangling.yaml:" in str(caught.value)
    assert "Nowhere" in str(caught.value)
    assert client.flows.list().total == 0  # nothing was stored


# -- who hears of it --------------------------------------------------------------------------


def test_approvers_are_emailed_and_webhooks_hear_the_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from aiosmtpd.controller import Controller

    from tests.support.peers import Inbox, Listener

    box, smtp_port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    hook = Listener()
    serving = hook.serve()
    next(serving)
    tmp = tmp_path_factory.mktemp("flow-mail")
    home, port, log = tmp / "home", free_port(), tmp / "server.log"
    process = _start(
        home,
        port,
        log,
        HEADWATER_SMTP_HOST="127.0.0.1",
        HEADWATER_SMTP_PORT=str(smtp_port),
        HEADWATER_SMTP_SENDER="headwater@example.org",
    )
    live = Live(home, f"http://127.0.0.1:{port}", port, (home / "admin.token").read_text().strip(),
                process, log, tmp)  # fmt: skip
    try:
        with live.client() as admin:
            made = admin.projects.create("gated")
        with live.client(made.id) as client:
            client.webhooks.create(hook.url, ["flow.pending_approval", "flow.succeeded"])
            me = client.auth.me()
            flow = client.flows.import_yaml(
                GATED.replace("value: admin", "value: admin, ops@example.org")
            )
            run = client.flows.run(flow.name)
            wait_for(lambda: bool(box.messages), timeout=30)
            envelope, mail = box.messages[0]
            assert sorted(envelope.rcpt_tos) == sorted([me.email, "ops@example.org"])
            assert "Ship" in mail["Subject"]
            body = str(mail.get_payload())
            assert f"hw flow approve {run.number}" in body
            assert f"/bakes/{run.number}" in body  # the link to the run's page in the UI
            client.flows.approve(run.number, "Ship")
            assert client.flows.wait(run.number, timeout=60).status == "success"
            wait_for(
                lambda: any(b'"flow.succeeded"' in body for _, body in hook.received), timeout=30
            )
            kinds = [json.loads(body)["event"] for _, body in hook.received]
            assert "flow.pending_approval" in kinds
    finally:
        _stop(live)
        controller.stop()
        serving.close()


def test_a_server_killed_mid_run_picks_the_run_up_again(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The driver keeps nothing in memory: after a SIGKILL and a restart, the run goes on from
    what the database holds, and what its tasks recorded before the kill is kept."""
    import signal

    tmp = tmp_path_factory.mktemp("flow-crash")
    home, port, log = tmp / "home", free_port(), tmp / "server.log"
    live = Live(home, f"http://127.0.0.1:{port}", port, "", _start(home, port, log), log, tmp)
    live.token = (home / "admin.token").read_text().strip()
    slow = py("""
        import time
        for i in range(20):
            print("step", i, flush=True)
            time.sleep(0.15)
        print("hw_tag_done: yes")
    """)
    text = flow_yaml(
        "Crash",
        [
            exec_task("Slow", slow, params=[{"key": "i", "value": [1, 2]}]),
            exec_task("After", "echo after"),
        ],
        [("Slow", "After")],
    )
    try:
        with live.client() as admin:
            made = admin.projects.create("crash")
        with live.client(made.id) as client:
            run = client.flows.run(client.flows.import_yaml(text).name)
            wait_for(
                lambda: any(
                    i.status == "running"
                    for i in task(client.flows.inspect(run.number), "Slow").instances
                )
            )
            time.sleep(0.5)
            before = client.flows.inspect(run.number)
        os.killpg(live.process.pid, signal.SIGKILL)
        live.process.wait()
        live.process = _start(home, port, log)
        with live.client(made.id) as client:
            done = client.flows.wait(run.number, timeout=120)
            assert done.status.terminal
            assert [i.id for i in task(done, "Slow").instances] == [
                i.id for i in task(before, "Slow").instances
            ]
            for inst in task(done, "Slow").instances:
                assert inst.status.terminal
                assert "step 0" in logs(client, inst.experiment_number)  # kept across the kill
            if task(done, "Slow").status == "success":
                assert done.status == "success"
                after = task(done, "After").instances  # one per Slow instance, none twice
                assert sorted(p for i in after for p in i.parents) == sorted(
                    i.id for i in task(done, "Slow").instances
                )
            else:
                assert task(done, "After").status == "skipped"
    finally:
        _stop(live)

"""The step cache end to end (issue 17): a real `hw server`, its engine and the local worker,
on SQLite and PostgreSQL. A re-run reuses what did not change and says why the rest ran;
--refresh, --no-cache, life spans, clear-cache, lost outputs, identical work at once, and a
restart --from-failed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from headwater.cli.runviews import instance_reason
from headwater.client import Client
from headwater.client.sync import push_folder
from headwater.schemas.flows import FlowRunOut, InstanceOut
from tests.integration.test_experiments import Live, module_server
from tests.integration.test_flows import exec_task, flow_yaml, py, task
from tests.support.postgres import DATABASES
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=DATABASES)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    with module_server(request, tmp_path_factory.mktemp("cache")) as server:
        yield server


@pytest.fixture
def client(live: Live) -> Iterator[Client]:
    admin = live.client()
    made = admin.projects.create(f"cache-{os.urandom(3).hex()}")
    admin.close()
    with live.client(made.id) as client:
        yield client


def run(client: Client, name: str, **options: Any) -> FlowRunOut:
    started = client.flows.run(name, **options)
    return client.flows.wait(started.number, timeout=120)


def only(run: FlowRunOut, title: str) -> InstanceOut:
    (instance,) = task(run, title).instances
    return instance


def missed(run: FlowRunOut, title: str) -> str:
    """Why the task's one instance ran (it must have run)."""
    instance = only(run, title)
    assert instance.cache is not None, instance
    assert not instance.cache.hit, instance
    assert instance.shown_status == "success"
    return instance.cache.why or ""


def hit(run: FlowRunOut, title: str, source: FlowRunOut) -> InstanceOut:
    """The task's one instance was served from ``source``'s: same experiment, nothing ran."""
    instance = only(run, title)
    assert instance.cache is not None, instance
    assert instance.cache.hit, instance
    assert instance.cache.from_run == source.number
    assert instance.experiment_id == only(source, title).experiment_id
    assert instance.shown_status == "cached"
    return instance


def experiments(client: Client) -> int:
    return client.experiments.list(limit=1).total


def push_files(client: Client, folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, text in files.items():
        (folder / name).write_text(text)
    push_folder(client.files.repo(), folder, message="files")


WRITE = py("""
    import os
    os.makedirs("output", exist_ok=True)
    open("output/a.txt", "w").write("a")
    print("hw_tag_done: yes")
""")


def parts_flow(name: str, dataset: str, **a: Any) -> str:
    fields = {"params": [{"key": "lr", "value": "0.1"}], **a}
    command = fields.pop("input", WRITE)
    tasks = [
        {"title": "D", "type": "data", "dataset": dataset},
        exec_task("A", command, **fields),
    ]
    return flow_yaml(name, tasks, [("D", "A")])


def test_a_rerun_hits_and_each_changed_part_is_named(client: Client, live: Live) -> None:
    name, dataset = f"Parts-{os.urandom(2).hex()}", "d"
    client.datasets.create(dataset)
    data = live.tmp / f"data-{os.urandom(3).hex()}"
    push_files_to = data / "d"
    push_to_dataset(client, dataset, push_files_to, "one")
    client.flows.import_yaml(parts_flow(name, dataset))
    first = run(client, name)
    assert first.status == "success"
    assert missed(first, "A") == "no earlier run of this task"
    count = experiments(client)

    again = run(client, name)
    assert again.status == "success"
    cached = hit(again, "A", first)
    assert cached.tags["done"] == "yes"  # the tags come with it
    assert experiments(client) == count  # no process ran
    assert (task(again, "A").reason or "").startswith(f"cached from run {first.number}")
    assert "cached from run" in instance_reason(cached)  # what `hw inspect` shows
    assert set(cached.cache.parts) >= {"command", "files", "inputs"}  # type: ignore[union-attr]

    last = first
    steps: list[tuple[str, Any]] = [
        ("params", lambda: client.flows.import_yaml(
            parts_flow(name, dataset, params=[{"key": "lr", "value": "0.2"}]))),
        ("command", lambda: client.flows.import_yaml(
            parts_flow(name, dataset, params=[{"key": "lr", "value": "0.2"}],
                       input=WRITE + " # v2"))),
        ("env", lambda: client.env.set({"MODE": os.urandom(2).hex()})),
        ("files", lambda: push_files(client, live.tmp / f"files-{name}", {"x.txt": "x"})),
        ("requirements", lambda: client.flows.import_yaml(
            parts_flow(name, dataset, params=[{"key": "lr", "value": "0.2"}],
                       input=WRITE + " # v2", requirements=False))),
        ("image", lambda: client.flows.import_yaml(
            parts_flow(name, dataset, params=[{"key": "lr", "value": "0.2"}],
                       input=WRITE + " # v2", requirements=False, image="python:3.12"))),
        ("datasets", lambda: push_to_dataset(client, dataset, push_files_to, "two")),
        ("options", lambda: client.flows.import_yaml(
            parts_flow(name, dataset, params=[{"key": "lr", "value": "0.2"}],
                       input=WRITE + " # v2", requirements=False, image="python:3.12",
                       output_dir="out2"))),
    ]  # fmt: skip
    for part, change in steps:
        change()
        now = run(client, name)
        assert now.status == "success", (part, now.model_dump_json(indent=1))
        assert missed(now, "A") == f"{part} changed since run {last.number}", part
        last = now
    assert hit(run(client, name), "A", last)  # and nothing else changed meanwhile

    refreshed = run(client, name, refresh=["A"])
    assert missed(refreshed, "A") == "--refresh"
    assert only(refreshed, "A").experiment_id != only(last, "A").experiment_id
    assert missed(run(client, name, no_cache=True), "A") == "--no-cache"
    newest = run(client, name)  # the newest result serves: the --no-cache one
    assert only(newest, "A").cache.from_run == newest.number - 1  # type: ignore[union-attr]


def push_to_dataset(client: Client, dataset: str, folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "x.txt").write_text(text)
    push_folder(client.datasets.repo(dataset), folder, message=text)


def test_a_parents_new_outputs_or_tags_are_named(client: Client) -> None:
    """Parents that always run (``cache: none``): one writes new outputs each time, the other
    prints a new tag; their children say so."""
    outputs = py("""
        import os
        os.makedirs("output", exist_ok=True)
        open("output/r.txt", "w").write(os.urandom(8).hex())
    """)
    tags = py("""
        import os
        print("hw_tag_r:", os.urandom(8).hex())
    """)
    child = py('print("child")')
    name = f"Upstream-{os.urandom(2).hex()}"
    text = flow_yaml(
        name,
        [
            exec_task("Out", outputs, cache="none"),
            exec_task("Tag", tags, cache="none"),
            exec_task("After Out", child),
            exec_task("After Tag", child),
        ],
        [("Out", "After Out"), ("Tag", "After Tag")],
    )
    client.flows.import_yaml(text)
    first = run(client, name)
    assert first.status == "success"
    assert missed(first, "Out") == "cache: none"
    second = run(client, name)
    assert missed(second, "Out") == "cache: none"
    assert missed(second, "After Out") == f"inputs changed since run {first.number}"
    assert missed(second, "After Tag") == f"tags changed since run {first.number}"


def _age(live: Live, experiment_id: str, days: int) -> None:
    """Move a result's end back in time (the stored timestamp the life span reads)."""
    engine = sa.create_engine(live.database_url or f"sqlite:///{live.home / 'headwater.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE experiments SET ended_at = :t WHERE id = :id"),
                {"t": datetime.now(UTC) - timedelta(days=days), "id": experiment_id},
            )
    finally:
        engine.dispose()


def test_life_span_and_clear_cache(client: Client, live: Live) -> None:
    name = f"Span-{os.urandom(2).hex()}"
    client.flows.import_yaml(
        flow_yaml(
            name,
            [exec_task("A", py('print("a")'), cache={"life_span": "1d"}), exec_task("B", "true")],
            [],
        )
    )
    first = run(client, name)
    hit(run(client, name), "A", first)
    _age(live, only(first, "A").experiment_id or "", days=2)
    expired = run(client, name)
    assert missed(expired, "A") == "the earlier result is older than its life span (1d)"
    assert hit(run(client, name), "B", first)  # B's 14 days are far off

    one = client.flows.clear_cache(name, "A")
    assert one.cleared >= 1
    after = run(client, name)
    assert missed(after, "A") == "no earlier run of this task"
    assert hit(after, "B", first)
    assert client.flows.clear_cache(name).cleared >= 2  # A's new one and B's
    assert missed(run(client, name), "B") == "no earlier run of this task"


def test_a_hit_whose_outputs_are_gone_runs_again(client: Client, live: Live) -> None:
    token = os.urandom(12).hex()
    command = py(f"""
        import os
        os.makedirs("output", exist_ok=True)
        open("output/token.txt", "w").write("{token}")
    """)
    name = f"Lost-{os.urandom(2).hex()}"
    client.flows.import_yaml(flow_yaml(name, [exec_task("A", command)], []))
    first = run(client, name)
    assert first.status == "success"
    digest = hashlib.sha256(token.encode()).hexdigest()
    stored = [p for p in (live.home / "objects").rglob(digest[2:]) if p.is_file()]
    assert stored, "the output blob is in the object store"
    for path in stored:
        path.unlink()
    again = run(client, name)
    assert again.status == "success"
    number = only(first, "A").experiment_number
    assert missed(again, "A") == f"the outputs of experiment {number} are gone"


def test_identical_tasks_at_once_compute_once(client: Client, live: Live) -> None:
    gate = live.shared / f"go-{os.urandom(4).hex()}"
    command = py(f"""
        import os, time
        while not os.path.exists("{gate}"):
            time.sleep(0.05)
    """)
    name = f"Twice-{os.urandom(2).hex()}"
    client.flows.import_yaml(flow_yaml(name, [exec_task("Slow", command)], []))
    one = client.flows.run(name)
    wait_until(
        lambda: task(client.flows.inspect(one.number), "Slow").instances,
        timeout=60,
        message="run one's instance was never created",
    )
    two = client.flows.run(name)
    wait_until(
        lambda: "waits for run" in (task(client.flows.inspect(two.number), "Slow").reason or ""),
        timeout=60,
        message="run two never waited for run one",
    )
    gate.write_text("go")
    first = client.flows.wait(one.number, timeout=120)
    second = client.flows.wait(two.number, timeout=120)
    assert first.status == second.status == "success"
    hit(second, "Slow", first)


def test_restart_from_failed_reuses_every_success_whatever_changed(
    client: Client, live: Live
) -> None:
    prep = py("""
        import os
        os.makedirs("output", exist_ok=True)
        open("output/p.txt", "w").write("p")
    """)
    grid = py("""
        import os, sys
        sys.exit(1 if sys.argv[2] == "2" and not os.path.exists("fixed.txt") else 0)
    """)
    name = f"Resume-{os.urandom(2).hex()}"
    text = flow_yaml(
        name,
        [
            exec_task("Prep", prep),
            exec_task("Grid", grid, params=[{"key": "i", "value": ["1", "2", "3"]}]),
        ],
        [("Prep", "Grid")],
    )
    client.flows.import_yaml(text)
    failed = run(client, name)
    assert failed.status == "failed"
    before = {i.params["i"]: i for i in task(failed, "Grid").instances}
    # the fix changes the project's files: every key changes, the cache would reuse nothing
    push_files(client, live.tmp / f"files-{name}", {"fixed.txt": "fixed"})
    restarted = client.flows.restart(failed.number, from_failed=True)
    done = client.flows.wait(restarted.number, timeout=120)
    assert done.status == "success", done.model_dump_json(indent=1)
    kept = only(done, "Prep")
    assert kept.experiment_id == only(failed, "Prep").experiment_id
    assert kept.shown_status == "cached"
    assert kept.cache is not None
    assert kept.cache.kept
    assert (
        instance_reason(kept)
        == f"kept from run {failed.number} (experiment {kept.experiment_number})"
    )
    after = {i.params["i"]: i for i in task(done, "Grid").instances}
    for kept in ("1", "3"):
        assert after[kept].experiment_id == before[kept].experiment_id
        assert after[kept].cache is not None
        assert after[kept].cache.kept
        assert after[kept].shown_status == "cached"
    assert after["2"].experiment_id != before["2"].experiment_id
    assert after["2"].cache is not None
    assert not after["2"].cache.hit


def test_refresh_is_limited_and_names_known_tasks(client: Client, live: Live) -> None:
    name = f"Limits-{os.urandom(2).hex()}"
    client.flows.import_yaml(flow_yaml(name, [exec_task("A", "true")], []))
    url = f"{live.url}/api/v1/projects/{client.config.project}/flows/{name}/runs"
    headers = {"Authorization": f"Bearer {live.token}"}
    too_many = httpx.post(url, json={"refresh": ["A"] * 201}, headers=headers)
    assert too_many.status_code == 422
    unknown = httpx.post(url, json={"refresh": ["Nope"]}, headers=headers)
    assert unknown.status_code == 400
    assert "no task 'Nope' to refresh" in unknown.json()["detail"]
    cache = f"{live.url}/api/v1/projects/{client.config.project}/flows/{name}/cache"
    long_task = httpx.delete(cache, params={"task": "x" * 201}, headers=headers)
    assert long_task.status_code == 422

"""The experiments list filtered and sorted by any param, tag or metric column, in SQL, on
SQLite and PostgreSQL (issue 16): the best run is the first row of one request."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.db.repos.experiments import ExperimentRepo
from headwater.domain.jobs import JobState
from tests.support.api import Api, Server, assert_error

LRS = ["0.01", "0.05", "0.1", "0.2", "0.5", "1.0"]


@pytest.fixture
def project(server: Server) -> tuple[Api, str, dict[int, dict[str, Any]]]:
    """12 runs (lr x optimizer); run n's accuracy peaks at n/100 + 0.8 and ends lower; runs 11
    and 12 log nothing, 12 failed; run 3 logged a param that overrides its start one."""
    owner = server.create_user()
    pid = owner.create_project()["id"]
    runs = [{"lr": lr, "optimizer": opt} for opt in ("adam", "sgd") for lr in LRS]
    made = owner.post(f"/projects/{pid}/experiments", json={"command": "true", "runs": runs})
    assert made.status_code == 201, made.text
    by_number = {e["number"]: e for e in made.json()}
    with server.app.state.platform.db.write() as session:
        repo = ExperimentRepo(session)
        for n, e in by_number.items():
            if n > 10:
                continue
            peak = n / 100 + 0.8
            repo.add_metrics(e["id"], [("accuracy", 0, 0.5, None), ("accuracy", 1, peak, None)])
            repo.add_metrics(e["id"], [("accuracy", None, peak - 0.05, None)])  # a 2nd batch
            repo.add_metrics(e["id"], [("loss", None, 1 / n, None)])
            repo.set_values(e["id"], "tag", {"stage": "a" if n % 2 else "b"})
        repo.set_values(by_number[3]["id"], "param", {"optimizer": "lion"})
        failed = by_number[12]["id"]
        repo.move(failed, JobState.INITIALIZING)
        repo.move(failed, JobState.RUNNING)
        repo.move(failed, JobState.FAILED, reason="CUDA out of memory")
    return owner, pid, by_number


def numbers(api: Api, pid: str, **params: Any) -> list[int]:
    page = api.get(f"/projects/{pid}/experiments", params={"limit": 100, **params})
    assert page.status_code == 200, page.text
    return [e["number"] for e in page.json()["items"]]


def test_the_best_run_by_a_metric_is_the_first_row(project: tuple[Api, str, Any]) -> None:
    owner, pid, _ = project
    assert numbers(owner, pid, sort="metrics.accuracy.max", limit=1) == [10]
    best = numbers(owner, pid, sort="accuracy.max", desc=False)
    assert best[:10] == list(range(1, 11))
    assert best[10:] == [11, 12]  # no metric: last either way (ties by number, lowest first)
    assert numbers(owner, pid, sort="metrics.accuracy.max")[10:] == [12, 11]
    # latest is the last value logged, min the lowest, max the highest
    assert numbers(owner, pid, sort="metrics.loss.min", desc=False)[:3] == [10, 9, 8]


def test_the_examples_filter_in_the_database(project: tuple[Api, str, Any]) -> None:
    owner, pid, _ = project
    # lr > 0.1: runs 4-6 and 10-12; accuracy (latest: peak - 0.05) >= 0.85 for n >= 10
    assert numbers(owner, pid, filter="lr > 0.1 and accuracy >= 0.85") == [10]
    assert numbers(owner, pid, filter="lr > 0.1 and metrics.accuracy.max >= 0.85") == [10, 6, 5]
    assert numbers(owner, pid, filter="status == failed") == [12]
    assert numbers(owner, pid, filter='params.optimizer == "adam"') == [6, 5, 4, 2, 1]
    assert numbers(owner, pid, filter="optimizer == lion") == [3]  # the logged one wins
    assert numbers(owner, pid, filter="metrics.loss.min < 0.2") == [10, 9, 8, 7, 6]
    assert numbers(owner, pid, filter="tags.stage == b and number <= 4") == [4, 2]
    assert numbers(owner, pid, filter="lr == 0.1 or lr == 1") == [12, 9, 6, 3]  # 1.0 is 1
    assert numbers(owner, pid, filter='lr == "1.0"') == [12, 6]  # text compares as written


def test_missing_values_match_no_comparison_and_not_includes_them(
    project: tuple[Api, str, Any],
) -> None:
    owner, pid, _ = project
    assert numbers(owner, pid, filter="accuracy != 0") == list(range(10, 0, -1))
    assert numbers(owner, pid, filter="not (accuracy > 0)") == [12, 11]
    assert numbers(owner, pid, filter="not stage == a") == [12, 11, 10, 8, 6, 4, 2]


def test_a_filter_pages_and_counts_what_matched(project: tuple[Api, str, Any]) -> None:
    owner, pid, _ = project
    path = f"/projects/{pid}/experiments"
    params = {"filter": "accuracy.max > 0.8", "sort": "accuracy.max", "limit": 3}
    first = owner.get(path, params=params).json()
    second = owner.get(path, params={**params, "offset": 3}).json()
    assert first["total"] == 10
    assert [e["number"] for e in first["items"] + second["items"]] == [10, 9, 8, 7, 6, 5]


def test_a_listing_carries_each_metric_summary_and_a_failed_run_its_reason(
    project: tuple[Api, str, Any],
) -> None:
    owner, pid, _ = project
    items = owner.get(f"/projects/{pid}/experiments").json()["items"]
    row = next(e for e in items if e["number"] == 10)
    assert row["metrics"]["accuracy"] == pytest.approx({"latest": 0.85, "min": 0.5, "max": 0.9})
    assert row["latest_metrics"]["loss"] == pytest.approx(0.1)
    failed = next(e for e in items if e["number"] == 12)
    assert failed["state"] == "failed"
    assert failed["reason"] == "CUDA out of memory"
    assert failed["metrics"] == {}


def test_duration_and_times_compare(project: tuple[Api, str, Any]) -> None:
    owner, pid, _ = project
    assert numbers(owner, pid, filter="duration >= 0") == [12]  # the only one that started
    assert numbers(owner, pid, filter="duration > 1h") == []
    assert numbers(owner, pid, filter="created > 2000-01-01 and created < 2999-01-01")[:1] == [12]
    assert numbers(owner, pid, sort="duration", limit=1) == [12]


def test_the_columns_list_the_keys_of_the_projects_experiments(
    project: tuple[Api, str, Any],
) -> None:
    owner, pid, _ = project
    columns = owner.get(f"/projects/{pid}/experiments/columns")
    assert columns.status_code == 200, columns.text
    assert columns.json() == {
        "params": ["lr", "optimizer"],
        "tags": ["stage"],
        "metrics": ["accuracy", "loss"],
    }


def test_errors_say_where_in_the_filter(project: tuple[Api, str, Any]) -> None:
    owner, pid, _ = project
    path = f"/projects/{pid}/experiments"
    body = assert_error(owner.get(path, params={"filter": "lr > 0.1 and acuracy >= 0.9"}), 400)
    assert body["where"] == "filter, column 14"
    assert "Did you mean accuracy?" in body["hint"]
    body = assert_error(owner.get(path, params={"filter": "(lr > 0.1"}), 400)
    assert body["where"] == "filter, column 10"
    body = assert_error(owner.get(path, params={"filter": 'title == "a\x00"'}), 400)
    assert "control character" in body["detail"]  # PostgreSQL would refuse the NUL: never a 500
    body = assert_error(owner.get(path, params={"sort": "metrics.nope"}), 400)
    assert body["where"] == "sort"
    assert "metrics.accuracy" in body["hint"]


def test_the_filter_and_sort_are_bounded(project: tuple[Api, str, Any]) -> None:
    owner, pid, _ = project
    path = f"/projects/{pid}/experiments"
    long = " or ".join(["lr > 1"] * 200)
    assert_error(owner.get(path, params={"filter": long}), 422, where="query.filter")
    assert_error(owner.get(path, params={"sort": "x" * 301}), 422, where="query.sort")
    deep = "(" * 30 + "lr > 1" + ")" * 30
    assert "nested" in assert_error(owner.get(path, params={"filter": deep}), 400)["detail"]

"""Usage history (domain/usage.py): bounded rate, bounded length, per-caller sums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from headwater.domain.usage import OTHER, Usage, UsageHistory, bounded, compute_of, per_compute

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_sample_is_taken_at_most_once_per_interval() -> None:
    history = UsageHistory(timedelta(seconds=5), timedelta(minutes=1))
    taken: list[int] = []

    def take() -> dict[tuple[str, str], Usage]:
        taken.append(1)
        return {}

    assert history.maybe_sample(T0, take)
    assert not history.maybe_sample(T0 + timedelta(seconds=4), take)
    assert history.maybe_sample(T0 + timedelta(seconds=5), take)
    assert len(taken) == 2


def test_the_history_keeps_only_its_retention() -> None:
    history = UsageHistory(timedelta(seconds=5), timedelta(minutes=1))
    for i in range(100):
        history.maybe_sample(T0 + timedelta(seconds=5 * i), dict)
    assert len(history) == history.capacity == 12
    assert history.since(T0)[0].at == T0 + timedelta(seconds=5 * 88)


def test_each_caller_sums_only_the_projects_they_see() -> None:
    usage = {
        ("p1", "small"): Usage(active=1, cpus=1.0),
        ("p2", "small"): Usage(active=1, cpus=2.0),
        ("p2", "gpu"): Usage(pending=1),
    }
    assert per_compute(usage, {"p1"}) == {"small": Usage(active=1, cpus=1.0)}
    assert per_compute(usage, None) == {
        "small": Usage(active=2, cpus=3.0),
        "gpu": Usage(pending=1),
    }


def test_a_sample_keeps_a_bounded_number_of_pairs() -> None:
    usage = {(f"p{i}", "small"): Usage(active=i) for i in range(10)}
    kept = bounded(usage, limit=4)
    assert len(kept) == 4
    assert kept[("", OTHER)] == Usage(active=0 + 1 + 2 + 3 + 4 + 5 + 6)
    assert per_compute(kept, {"p9"}) == {"small": Usage(active=9)}  # OTHER mixes projects


def test_a_waiting_job_counts_on_its_first_choice() -> None:
    assert compute_of("large", ["small"]) == "large"
    assert compute_of(None, ["gpu", "small"]) == "gpu"
    assert compute_of(None, []) == "default"

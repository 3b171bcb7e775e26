"""``ExperimentsClient.wait`` (``hw run --wait``): one count per poll, and polls that come sooner
when the pace at which experiments end says the last will end before the next poll."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import headwater.client.experiments as experiments


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A fake clock for ``wait``: its sleeps are recorded and pass at once."""
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(
        experiments, "time", SimpleNamespace(monotonic=lambda: clock[0], sleep=sleep)
    )
    return slept


def test_wait_polls_sooner_as_the_last_ones_are_about_to_end(
    monkeypatch: pytest.MonkeyPatch, pauses: list[float]
) -> None:
    made = [SimpleNamespace(id=f"e{i}", number=i + 1) for i in range(100)]
    left = iter([100, 80, 60, 40, 20, 4, 1, 0])
    counted: list[tuple[int, int] | None] = []

    def listing(**query: Any) -> SimpleNamespace:
        if query.get("ended") is False:
            counted.append(query.get("numbers"))
            assert query.get("limit") == 1  # a count, not a read of them all
            return SimpleNamespace(total=next(left), items=[])
        return SimpleNamespace(total=100, items=made if query.get("offset") == 0 else [])

    client = experiments.ExperimentsClient.__new__(experiments.ExperimentsClient)
    monkeypatch.setattr(client, "list", listing)
    assert client.wait(made) == made  # type: ignore[arg-type]
    assert counted == [(1, 100)] * 8
    # 20 ended per 0.25 s poll: the full poll while many are left, then sooner (the last one
    # was due in about 0.02 s), never under MIN_POLL
    assert pauses[:5] == [0.25] * 5
    assert pauses[5] == pytest.approx(4 * 0.25 / 16)
    assert pauses[6] == pytest.approx(max(experiments.MIN_POLL, 1 * pauses[5] / 3))


def test_a_wait_on_work_that_does_not_end_keeps_the_full_poll(
    monkeypatch: pytest.MonkeyPatch, pauses: list[float]
) -> None:
    made = [SimpleNamespace(id="e0", number=1)]
    left = iter([1, 1, 1, 0])

    def listing(**query: Any) -> SimpleNamespace:
        if query.get("ended") is False:
            return SimpleNamespace(total=next(left), items=[])
        return SimpleNamespace(total=1, items=made if query.get("offset") == 0 else [])

    client = experiments.ExperimentsClient.__new__(experiments.ExperimentsClient)
    monkeypatch.setattr(client, "list", listing)
    client.wait(made, poll=0.5)  # type: ignore[arg-type]
    assert pauses == [0.5, 0.5, 0.5]

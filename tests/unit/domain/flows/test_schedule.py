"""Schedules: the seed's four date formats, cron lines with a time zone, runs after downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import InvalidInput
from headwater.domain.schedule import (
    Recurring,
    once_due,
    parse_recurring,
    parse_schedule,
    recurring_due,
)

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    "text", ["31.01.2021 16:25", "31.01.2021 4:25PM", "2021.01.31 16:25", "2021.01.31 4:25PM"]
)
def test_the_seeds_four_spellings_of_one_moment(text: str) -> None:
    assert parse_schedule(text, tz=UTC) == datetime(2021, 1, 31, 16, 25, tzinfo=UTC)


def test_a_schedule_is_read_in_the_given_zone() -> None:
    got = parse_schedule("2021.01.31 4:25am", tz=PARIS)
    assert got == datetime(2021, 1, 31, 4, 25, tzinfo=PARIS)
    assert got.astimezone(UTC).hour == 3


@pytest.mark.parametrize(
    "text", ["2021-01-31 16:25", "31.01.2021 4:25 PM", "31.01.2021 16:25:00", "31.01.2021", ""]
)
def test_other_spellings_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_schedule(text, tz=UTC, where="f.yaml:2 schedule")
    assert caught.value.where == "f.yaml:2 schedule"
    assert "2021.01.31 4:25PM" in (caught.value.hint or "")


def test_recurring_with_and_without_a_zone() -> None:
    assert parse_recurring("30 * * * *") == Recurring("30 * * * *")
    assert parse_recurring("0 0 * * 1 Asia/Jerusalem") == Recurring("0 0 * * 1", "Asia/Jerusalem")
    assert parse_recurring("@daily UTC") == Recurring("@daily", "UTC")
    assert str(Recurring("0 0 * * 1", "Asia/Jerusalem")) == "0 0 * * 1 Asia/Jerusalem"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("61 * * * *", "not a valid cron line"),
        ("* * * *", "4 fields"),
        ("0 0 * * 1 Mars/Olympus", "not a time zone"),
        ("0 0 * * 1 ../etc/passwd", "not a time zone"),
        ("0 0 * * 1 UTC extra", "7 fields"),
    ],
)
def test_bad_cron_lines(text: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        parse_recurring(text)


def test_next_tick_is_computed_in_the_lines_zone() -> None:
    rule = parse_recurring("0 9 * * * Europe/Paris")
    after = datetime(2024, 3, 30, 12, 0, tzinfo=UTC)
    nxt = rule.next_after(after, default_tz=UTC)
    assert nxt.astimezone(UTC) == datetime(2024, 3, 31, 7, 0, tzinfo=UTC)  # summer time began
    assert parse_recurring("0 9 * * *").next_after(after, default_tz=PARIS) == nxt


def test_downtime_gives_one_run_not_one_per_missed_tick() -> None:
    rule = parse_recurring("*/5 * * * *")
    since = datetime(2024, 1, 1, tzinfo=UTC)
    now = since + timedelta(days=2)  # hundreds of ticks missed
    assert recurring_due(rule, last_run=None, since=since, now=now, default_tz=UTC)
    # the run happens now; then nothing is due until the next tick
    assert not recurring_due(rule, last_run=now, since=since, now=now, default_tz=UTC)
    later = now + timedelta(minutes=5)
    assert recurring_due(rule, last_run=now, since=since, now=later, default_tz=UTC)


def test_nothing_is_due_before_the_first_tick() -> None:
    rule = parse_recurring("0 0 1 1 *")
    since = datetime(2024, 1, 2, tzinfo=UTC)
    assert not recurring_due(
        rule, last_run=None, since=since, now=since + timedelta(days=30), default_tz=UTC
    )


def test_a_one_time_schedule_runs_once_even_after_downtime() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    assert not once_due(at, ran=False, now=at - timedelta(seconds=1))
    assert once_due(at, ran=False, now=at + timedelta(days=3))
    assert not once_due(at, ran=True, now=at + timedelta(days=3))


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(["*/7 * * * *", "0 3 * * 1", "15 */2 * * *", "@hourly"]),
)
def test_the_next_tick_is_strictly_later_and_then_due(moment: datetime, cron: str) -> None:
    rule = parse_recurring(cron)
    start = moment.replace(tzinfo=UTC)
    nxt = rule.next_after(start, default_tz=UTC)
    assert nxt > start
    assert not recurring_due(
        rule, last_run=start, since=start, now=nxt - timedelta(seconds=1), default_tz=UTC
    )
    assert recurring_due(rule, last_run=start, since=start, now=nxt, default_tz=UTC)

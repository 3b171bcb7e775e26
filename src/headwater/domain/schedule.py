"""When a flow runs by itself (seed 002, Scheduling): once at a time, or on a cron line.

``schedule:`` takes exactly the seed's four spellings of a date and time; ``recurring:`` a
five-field cron line with an optional IANA time zone after it (CONTRACT:
``"0 0 * * 1 Asia/Jerusalem"``), else the server's zone. After downtime a recurring flow runs
once, not once per tick it missed: ``recurring_due`` asks only whether any tick has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from headwater.domain.errors import InvalidInput

# 31.01.2021 16:25, 31.01.2021 4:25PM, 2021.01.31 16:25, 2021.01.31 4:25PM
SCHEDULE_FORMATS = ("%d.%m.%Y %H:%M", "%d.%m.%Y %I:%M%p", "%Y.%m.%d %H:%M", "%Y.%m.%d %I:%M%p")
_SCHEDULE_HINT = (
    "Write the date and time one of these ways: 31.01.2021 16:25, 31.01.2021 4:25PM, "
    "2021.01.31 16:25 or 2021.01.31 4:25PM."
)
_CRON_HINT = (
    'Write five cron fields, then a time zone if you like: "30 * * * *" or '
    '"0 0 * * 1 Asia/Jerusalem" (minute hour day-of-month month day-of-week).'
)
_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def parse_schedule(text: str, *, tz: tzinfo, where: str = "schedule") -> datetime:
    """The one-time run's moment, read in ``tz`` (the server's zone)."""
    cleaned = " ".join(text.split())
    for fmt in SCHEDULE_FORMATS:
        try:
            moment = datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
        return moment.replace(tzinfo=tz)
    raise InvalidInput(
        f"{text!r} is not a date and time Headwater reads", where=where, hint=_SCHEDULE_HINT
    )


def zone(name: str, *, where: str = "recurring") -> ZoneInfo:
    """An IANA time zone by name, e.g. ``Europe/Paris``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{name!r} is not a time zone Headwater knows",
            where=where,
            hint="Use an IANA name such as UTC, Europe/London or Asia/Jerusalem.",
        ) from None


@dataclass(frozen=True)
class Recurring:
    """A cron line and, when given, its time zone's name."""

    cron: str
    tz_name: str | None = None

    def zone(self, default: tzinfo) -> tzinfo:
        return zone(self.tz_name) if self.tz_name else default

    def next_after(self, moment: datetime, *, default_tz: tzinfo) -> datetime:
        """The first tick strictly after ``moment`` (aware), in this line's zone."""
        local = moment.astimezone(self.zone(default_tz))
        nxt: datetime = croniter(self.cron, local).get_next(datetime)
        return nxt

    def __str__(self) -> str:
        return f"{self.cron} {self.tz_name}" if self.tz_name else self.cron


def parse_recurring(text: str, *, where: str = "recurring") -> Recurring:
    """``"<five cron fields> [<time zone>]"`` or ``"@daily [<time zone>]"``."""
    fields = text.split()
    size = 1 if fields and fields[0] in _MACROS else 5
    if len(fields) not in (size, size + 1):
        raise InvalidInput(
            f"{text!r} has {len(fields)} fields, not a cron line of {size}",
            where=where,
            hint=_CRON_HINT,
        )
    cron = " ".join(fields[:size])
    tz_name = fields[size] if len(fields) > size else None
    if not croniter.is_valid(cron):
        raise InvalidInput(f"{cron!r} is not a valid cron line", where=where, hint=_CRON_HINT)
    if tz_name is not None:
        zone(tz_name, where=where)
    return Recurring(cron, tz_name)


def recurring_due(
    rule: Recurring,
    *,
    last_run: datetime | None,
    since: datetime,
    now: datetime,
    default_tz: tzinfo,
) -> bool:
    """Whether a run is due now: some tick passed since the last run (or since ``since``,
    when the schedule was set). However many ticks passed while the server was down, the
    answer is one run; the next question, after that run, starts from it.
    """
    start = last_run if last_run is not None else since
    return rule.next_after(start, default_tz=default_tz) <= now


def once_due(at: datetime, *, ran: bool, now: datetime) -> bool:
    """A one-time schedule runs once, at or after its moment (also after downtime)."""
    return not ran and at <= now

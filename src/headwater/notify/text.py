"""The words people read, shared by email and Slack so both tell the same story."""

from __future__ import annotations

from headwater.notify.base import Event

_ENDINGS = {
    "success": "succeeded",
    "failed": "failed",
    "aborted": "was aborted",
    "running": "started",
    "pending_approval": "waits for approval",
}


def ending(event: Event) -> str:
    """How it ended, as a verb phrase: "succeeded", "failed", "was aborted"."""
    return _ENDINGS.get(event.state, event.state)


def headline(event: Event) -> str:
    """One line: what ran, where, how it ended (an email's subject, a Slack message's start)."""
    return f"{event.title} in {event.project_name} {ending(event)}"


def details(event: Event) -> list[str]:
    """The facts under the headline, one per line: what ran, how it ended, why, where to look."""
    lines = [
        f"What ran:  {event.title}",
        f"Project:   {event.project_name}",
        f"State:     {event.state}",
    ]
    if event.reason:
        lines.append(f"Reason:    {event.reason}")
    lines.append(f"When:      {event.occurred_at.isoformat(timespec='seconds')}")
    if event.url:
        lines.append(f"Details:   {event.url}")
    return lines

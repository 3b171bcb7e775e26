"""``hw admin``: server maintenance for admins: verify the object store, collect garbage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import connect
from headwater.cli.output import JsonOption, emit, size

if TYPE_CHECKING:
    from headwater.schemas.versions import FsckOut, GcOut

app = typer.Typer(help="Server maintenance (admins only).", no_args_is_help=True)

LISTED_AT_MOST = 50


@app.command("fsck")
def fsck(as_json: JsonOption = False) -> None:
    """Re-hash every stored blob; list corrupt ones and those a version names but lacks.
    Exits with status 1 when any is found, so a cron job notices."""
    with connect() as client:
        report = client.admin.fsck()
    emit(report, as_json, _fsck_view)
    if not report.ok:
        raise typer.Exit(1)


def _fsck_view(report: FsckOut) -> str:
    if report.ok:
        return f"Checked {report.checked} blob(s): all intact."
    lines = [
        f"Checked {report.checked} blob(s): {len(report.corrupt)} corrupt, "
        f"{len(report.missing)} missing."
    ]
    for label, digests in (("corrupt", report.corrupt), ("missing", report.missing)):
        lines += [f"  {label}: {d}" for d in digests[:LISTED_AT_MOST]]
        if len(digests) > LISTED_AT_MOST:
            lines.append(f"  ... and {len(digests) - LISTED_AT_MOST} more {label} (see --json)")
    lines.append("Restore those blobs from a backup of the server home's objects/ folder.")
    return "\n".join(lines)


@app.command("gc")
def gc(
    grace_hours: Annotated[
        float,
        typer.Option(
            "--grace-hours",
            min=0,
            help="Keep unreferenced blobs younger than this: a sync may be about to use them.",
        ),
    ] = 24,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be removed.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove blobs that no version of any project, dataset or model references."""
    with connect() as client:
        report = client.admin.gc(grace_hours=grace_hours, dry_run=dry_run)
    emit(report, as_json, _gc_view)


def _gc_view(report: GcOut) -> str:
    verb = "Would remove" if report.dry_run else "Removed"
    leftovers = (
        f" and {report.leftovers} temp file(s) of interrupted writes" if report.leftovers else ""
    )
    return (
        f"{verb} {report.removed} unreferenced blob(s){leftovers}, {size(report.bytes_freed)}; "
        f"kept {report.kept_young} younger than the grace period."
    )

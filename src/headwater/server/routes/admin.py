"""Server maintenance for admins: verify every blob, collect unreferenced ones."""

from __future__ import annotations

import time

from fastapi import APIRouter

from headwater.db.repos.versions import VersionRepo
from headwater.schemas.versions import FsckOut, GcOut, GcRequest
from headwater.server.deps import AdminUser, PlatformDep
from headwater.storage.objects import collect_garbage

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/fsck", response_model=FsckOut)
def fsck(admin: AdminUser, platform: PlatformDep) -> FsckOut:
    with platform.db.read() as session:
        referenced = VersionRepo(session).referenced_objects()
    report = platform.objects.fsck(expected=referenced)
    return FsckOut(
        checked=report.checked, corrupt=report.corrupt, missing=report.missing, ok=report.ok
    )


@router.post("/gc", response_model=GcOut)
def gc(body: GcRequest, admin: AdminUser, platform: PlatformDep) -> GcOut:
    with platform.db.read() as session:
        referenced = VersionRepo(session).referenced_objects()
    report = collect_garbage(
        platform.objects,
        referenced,
        grace_seconds=body.grace_hours * 3600,
        now=time.time(),
        dry_run=body.dry_run,
    )
    return GcOut(
        removed=report.removed,
        bytes_freed=report.bytes_freed,
        kept_young=report.kept_young,
        leftovers=report.leftovers,
        dry_run=body.dry_run,
    )

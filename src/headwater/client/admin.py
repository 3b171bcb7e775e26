"""Server maintenance, for admins: verify every stored blob, collect unreferenced ones."""

from __future__ import annotations

from headwater.client.http import HttpClient, payload
from headwater.schemas.versions import FsckOut, GcOut, GcRequest


class AdminClient:
    def __init__(self, http: HttpClient) -> None:
        self._http = http

    def fsck(self) -> FsckOut:
        """Re-hash every blob; list the corrupt ones and those a commit names but lacks."""
        return self._http.call("POST", "/admin/fsck", FsckOut)

    def gc(self, *, grace_hours: float = 24, dry_run: bool = False) -> GcOut:
        """Remove blobs no commit references and older than ``grace_hours`` (younger ones may
        belong to a sync that has uploaded but not yet committed)."""
        body = payload(GcRequest, grace_hours=grace_hours, dry_run=dry_run)
        return self._http.call("POST", "/admin/gc", GcOut, json=body)

"""The worker-side data cache (seed 004, data caching): a dataset version checked out once per
machine, keyed by commit, reused by every later pull of the same commit, evicted when unused.

Layout under the cache root: ``objects/`` (blobs by hash) and ``commits/<id>/`` (a complete
checkout, hardlinked to the blobs) with a ``.last-used`` stamp.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from headwater.client.transfer import ObjectCache, Progress, RepoTransfer, checkout
from headwater.domain.trees import Tree

DEFAULT_EVICT_DAYS = 14
_STAMP = ".last-used"
_DONE = ".complete"


class DataCache:
    def __init__(self, root: Path, *, evict_days: float = DEFAULT_EVICT_DAYS) -> None:
        self.root = root
        self.objects = ObjectCache(root / "objects")
        self.commits = root / "commits"
        self.evict_days = evict_days

    def checkout_dir(self, commit: str) -> Path:
        return self.commits / commit

    def get(
        self, transfer: RepoTransfer, commit: str, tree: Tree, progress: Progress
    ) -> tuple[Path, bool]:
        """A complete checkout of ``commit``; the bool says it was already cached."""
        folder = self.checkout_dir(commit)
        if (folder / _DONE).exists():
            (folder / _STAMP).touch()
            return folder, True
        transfer.fetch(tree.entries, self.objects, progress)
        staging = self.commits / f".{commit}.{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        checkout(tree, staging, self.objects, link=True)
        (staging / _DONE).touch()
        (staging / _STAMP).touch()
        try:
            os.replace(staging, folder)
        except OSError:  # another process finished the same commit first
            shutil.rmtree(staging, ignore_errors=True)
        return folder, False

    def evict(self, *, now: float | None = None) -> list[str]:
        """Remove checkouts unused for ``evict_days``; blobs no checkout links to go too."""
        now = time.time() if now is None else now
        limit = self.evict_days * 86400
        removed = []
        if self.commits.exists():
            for folder in self.commits.iterdir():
                stamp = folder / _STAMP
                used = stamp.stat().st_mtime if stamp.exists() else folder.stat().st_mtime
                if now - used > limit:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder.name)
        for blob in self.objects.root.glob("??/*"):
            if blob.stat().st_nlink == 1 and now - blob.stat().st_mtime > limit:
                blob.unlink()  # no checkout holds a link to it any more
        return removed

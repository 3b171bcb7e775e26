"""The worker-side data cache (seed 004, data caching): a dataset or model version checked out
once per machine, reused by every later pull of the same version, evicted when unused.

Layout under the cache root: ``objects/`` (blobs by hash, shared with clones) and
``commits/<key>/`` (a complete checkout, hardlinked to the blobs) with ``commits/<key>.used``
stamped at each use. The key is the commit for a whole version, and the commit plus the digest of
the selection for a query, so two queries of one version never share a checkout. A checkout
appears under its key only once complete (built aside, then renamed), so a folder there is
always whole; markers sit beside it, never inside, where a dataset's own files could clash.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from headwater.client.config import DEFAULT_CACHE_DAYS
from headwater.client.objectcache import ObjectCache, checkout
from headwater.client.repos import RepoClient, tree_of
from headwater.client.transfer import NoProgress, Progress, RepoTransfer
from headwater.domain.trees import Tree
from headwater.schemas.versions import CommitOut, QueryResolved

EVICT_EVERY_S = 86400  # an eviction walks every blob: at most once a day
_USED = ".used"
_EVICTED = "last-eviction"


class DataCache:
    def __init__(self, root: Path, *, evict_days: float = DEFAULT_CACHE_DAYS) -> None:
        self.root = root
        self.objects = ObjectCache(root / "objects")
        self.commits = root / "commits"
        self.evict_days = evict_days

    def checkout_dir(self, key: str) -> Path:
        return self.commits / key

    def get(
        self, transfer: RepoTransfer, key: str, tree: Tree, progress: Progress
    ) -> tuple[Path, bool]:
        """A complete checkout of ``tree`` under ``key``; the bool says no blob had to be
        downloaded (every one was cached already)."""
        folder = self.checkout_dir(key)
        stamp = self.commits / f"{key}{_USED}"
        # Normally fetches nothing; but an executable file's checkout is a copy, so eviction
        # may have taken its blob while the checkout stayed, and a pull links from the blobs.
        fetched = transfer.fetch(tree.entries, self.objects, progress)
        if folder.is_dir():
            stamp.touch()
            return folder, fetched == 0
        staging = self.commits / f".{key}.{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        checkout(tree, staging, self.objects, link=True, fresh=True)
        try:
            os.replace(staging, folder)
        except OSError:  # another process finished the same version first
            shutil.rmtree(staging, ignore_errors=True)
        stamp.touch()
        return folder, fetched == 0

    def evict(self, *, now: float | None = None) -> list[str]:
        """Remove checkouts unused for ``evict_days``; blobs no checkout links to go too."""
        now = time.time() if now is None else now
        limit = self.evict_days * 86400
        removed = []
        if self.commits.exists():
            for folder in self.commits.iterdir():
                if not folder.is_dir() or folder.name.startswith("."):
                    continue
                stamp = self.commits / f"{folder.name}{_USED}"
                used = stamp.stat().st_mtime if stamp.exists() else folder.stat().st_mtime
                if now - used > limit:
                    shutil.rmtree(folder, ignore_errors=True)
                    stamp.unlink(missing_ok=True)
                    removed.append(folder.name)
        for blob in self.objects.root.glob("??/*"):
            st = blob.stat()
            if st.st_nlink == 1 and now - st.st_mtime > limit:
                blob.unlink()  # no checkout holds a link to it any more
        return removed

    def evict_now_and_then(self, *, now: float | None = None) -> list[str]:
        """``evict`` at most once a day, so every pull can call it for free."""
        now = time.time() if now is None else now
        marker = self.root / _EVICTED
        if marker.exists() and now - marker.stat().st_mtime < EVICT_EVERY_S:
            return []
        marker.touch()
        return self.evict(now=now)


@dataclass(frozen=True)
class Pulled:
    """What a pull put where: ``cached`` says no blob had to come over the network."""

    commit: CommitOut
    files: int
    size: int
    cached: bool
    path: Path


def pull(
    repo: RepoClient,
    cache: DataCache,
    dest: Path,
    *,
    commit: str | None = None,
    selection: QueryResolved | None = None,
    progress: Progress | None = None,
) -> Pulled:
    """Put a version (or a query's selection of one) into ``dest`` through the cache: files
    come as hardlinks to the cache where the filesystem allows (read-only: copy a file
    before editing it), copies otherwise. Other files in ``dest`` are left alone."""
    if selection is not None:
        found, tree = selection.commit, tree_of(selection.entries)
        key = f"{found.id}-{tree.digest[:16]}"
    else:
        listed = repo.tree(commit)
        found, tree = listed.commit, tree_of(listed.entries)
        key = found.id
    _, cached = cache.get(repo.transfer, key, tree, progress or NoProgress())
    dest.mkdir(parents=True, exist_ok=True)
    checkout(tree, dest, cache.objects, link=True)
    cache.evict_now_and_then()
    return Pulled(found, len(tree), tree.size, cached, dest)

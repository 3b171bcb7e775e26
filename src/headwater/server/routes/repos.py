"""Versioned trees over HTTP: the same routes serve project files, datasets and models.

``/projects/{id}/files/...`` is the project's files; ``/projects/{id}/datasets/{name}/...`` and
``/projects/{id}/models/{name}/...`` are one dataset or model. Reads need ``read`` on the
resource type, writes ``all``.

No ``from __future__ import annotations`` here: the routes are made inside a function, and FastAPI
must see their dependency annotations as objects, not as names to look up in module globals.
"""

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, BinaryIO

import anyio.from_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from headwater.db.repos.activity import ActivityRepo
from headwater.db.repos.model_sources import ModelSourceRepo
from headwater.db.repos.versions import VersionRepo
from headwater.domain.access import Permission
from headwater.domain.entities import ActivityKind
from headwater.domain.errors import InvalidInput, NotFound
from headwater.domain.ids import MAX_NUMBER
from headwater.domain.model_sources import ModelSource
from headwater.domain.paths import check_path
from headwater.domain.task_scope import check_output_branch
from headwater.domain.trees import Entry, Tree
from headwater.domain.versions import BlobScope, Commit, Repo, RepoKind
from headwater.schemas.frames import FrameReader, frame_header
from headwater.schemas.versions import (
    BranchOut,
    CommitCreate,
    CommitOut,
    CommitResult,
    DiffOut,
    EntryModel,
    HashList,
    MissingOut,
    ModelSourceOut,
    PreviewOut,
    TreeOut,
)
from headwater.server.deps import PlatformDep, ProjectAccess, require
from headwater.server.platform import Platform
from headwater.storage.diffs import diff_trees
from headwater.storage.objects import CHUNK, check_hash
from headwater.storage.previews import content_type, extension, preview, table_page

MAX_BATCH_BYTES = 64 << 20
PREVIEW_BYTES = 4 << 20
# Bodies move in pieces of about this size: every piece a sync iterator yields, or a file
# response reads, is one hop to a worker thread and back.
PIECE = 1 << 20


class BlobResponse(FileResponse):
    """A stored blob, read in large pieces (Starlette's default is 64 KiB)."""

    chunk_size = PIECE


@dataclass(frozen=True)
class RepoContext:
    access: ProjectAccess
    repo: Repo

    @property
    def scope(self) -> BlobScope:
        """The blobs this caller may name here (see storage.versioning)."""
        return caller_scope(self.access)


def caller_scope(access: ProjectAccess) -> BlobScope:
    """Blobs reachable from the repositories of the project the caller may read."""
    kinds = frozenset(k for k in RepoKind if access.may(Permission.read(k.resource)))
    return BlobScope(access.project.id, kinds)


def commit_out(commit: Commit, source: ModelSource | None = None) -> CommitOut:
    return CommitOut(
        id=commit.id,
        tree=commit.tree,
        parents=list(commit.parents),
        author=commit.author,
        message=commit.message,
        created_at=commit.created_at,
        files=commit.files,
        size=commit.size,
        source=source_out(source) if source else None,
    )


def source_out(source: ModelSource) -> ModelSourceOut:
    return ModelSourceOut(
        experiment_id=source.experiment_id,
        experiment_number=source.experiment_number,
        path=source.path,
        params=source.params,
        metrics=source.metrics,
    )


def entry_model(entry: Entry) -> EntryModel:
    return EntryModel(path=entry.path, hash=entry.hash, size=entry.size, mode=entry.mode)


def files_repo(access: ProjectAccess, platform: Platform) -> RepoContext:
    with platform.db.write() as session:
        return RepoContext(access, VersionRepo(session).files_repo(access.project.id))


def named_repo(kind: RepoKind) -> Callable[[ProjectAccess, Platform, str], RepoContext]:
    def resolve(access: ProjectAccess, platform: Platform, name: str) -> RepoContext:
        with platform.db.read() as session:
            return RepoContext(access, VersionRepo(session).get(access.project.id, kind, name))

    return resolve


def tree_at(platform: Platform, repo: Repo, ref: str | None) -> tuple[Commit, Tree]:
    with platform.db.read() as session:
        commit = VersionRepo(session).resolve(repo.id, ref)
    return commit, platform.versioning.load_tree(commit.tree)


def repo_router(kind: RepoKind, prefix: str) -> APIRouter:
    """The routes of one kind of versioned tree; operation ids are prefixed by the kind."""
    router = APIRouter(prefix=prefix, tags=[kind.value])
    read, write = Permission.read(kind.resource), Permission.write(kind.resource)
    named = kind is not RepoKind.FILES
    lookup = named_repo(kind)

    def dep(permission: Permission) -> Callable[..., RepoContext]:
        check = require(permission)
        if named:

            def by_name(
                name: str,
                platform: PlatformDep,
                access: Annotated[ProjectAccess, Depends(check)],
            ) -> RepoContext:
                return lookup(access, platform, name)

            by_name.permission = permission  # type: ignore[attr-defined]
            return by_name

        def project_files(
            platform: PlatformDep, access: Annotated[ProjectAccess, Depends(check)]
        ) -> RepoContext:
            return files_repo(access, platform)

        project_files.permission = permission  # type: ignore[attr-defined]
        return project_files

    reader, writer = dep(read), dep(write)
    op = kind.value

    @router.post("/objects/missing", response_model=MissingOut, name=f"{op}_missing_objects")
    def missing_objects(
        body: HashList, ctx: Annotated[RepoContext, Depends(writer)], platform: PlatformDep
    ) -> MissingOut:
        """The hashes to upload before a commit: absent, or outside what the caller may name
        (so the answer says nothing of other projects' blobs)."""
        for digest in body.hashes:
            check_hash(digest, where="hashes")
        with platform.db.read() as session:
            visible = VersionRepo(session).visible_objects(ctx.repo.id, ctx.scope, body.hashes)
        absent = set(platform.objects.missing(sorted(visible)))
        return MissingOut(
            missing=sorted(h for h in set(body.hashes) if h not in visible or h in absent)
        )

    @router.put("/objects/{digest}", status_code=201, name=f"{op}_upload_object")
    async def upload_object(
        digest: str,
        request: Request,
        ctx: Annotated[RepoContext, Depends(writer)],
        platform: PlatformDep,
    ) -> dict[str, int | str]:
        check_hash(digest, where="digest")
        body = request.stream()

        async def next_piece() -> bytes:
            piece = bytearray()
            async for chunk in body:
                piece += chunk
                if len(piece) >= PIECE:
                    break
            return bytes(piece)

        def pieces() -> Iterator[bytes]:
            # Runs in the worker thread that hashes and writes: it asks the event loop for
            # the body a piece at a time, so nothing is spooled or held whole.
            while piece := anyio.from_thread.run(next_piece):
                yield piece

        size = await run_in_threadpool(platform.objects.put_stream, digest, pieces())
        await run_in_threadpool(_record_uploads, platform, ctx, [digest])
        return {"hash": digest, "size": size}

    @router.post("/objects/batch", status_code=201, name=f"{op}_upload_objects")
    async def upload_objects(
        request: Request,
        ctx: Annotated[RepoContext, Depends(writer)],
        platform: PlatformDep,
    ) -> dict[str, int]:
        """Many small blobs in one body (see schemas.frames), stored with one flush to disk."""
        reader = FrameReader()
        blobs: list[tuple[str, bytes]] = []
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > MAX_BATCH_BYTES:
                raise InvalidInput(
                    f"a batch may carry at most {MAX_BATCH_BYTES >> 20} MiB",
                    where="body",
                    hint="Send larger files one by one with PUT /objects/{hash}.",
                )
            blobs.extend(reader.feed(chunk))
        reader.close()
        stored = await run_in_threadpool(platform.objects.put_many, blobs)
        await run_in_threadpool(_record_uploads, platform, ctx, [d for d, _ in blobs])
        return {"received": len(blobs), "stored": stored}

    @router.post("/objects/download", name=f"{op}_download_objects")
    def download_objects(
        body: HashList, ctx: Annotated[RepoContext, Depends(reader)], platform: PlatformDep
    ) -> StreamingResponse:
        """Many blobs in one response: for each, a line ``HASH SIZE`` then the bytes."""
        wanted = sorted(set(body.hashes))
        _check_reachable(platform, ctx, wanted)

        def stream() -> Iterator[bytes]:
            # Frames are packed into pieces of about PIECE bytes: each yield costs a thread hop.
            # A piece is a list joined once (one copy); a blob's size is its open file's.
            piece: list[bytes] = []
            held = 0
            for digest in wanted:
                with platform.objects.open(digest) as fh:
                    size = _size_of(fh, platform, digest)
                    piece.append(frame_header(digest, size))
                    if size <= PIECE:  # what a client batches: read whole, in one call
                        data = fh.read()
                        piece.append(data)
                        held += len(data)
                    else:
                        while block := fh.read(CHUNK):
                            piece.append(block)
                            held += len(block)
                            if held >= PIECE:
                                yield b"".join(piece)
                                piece, held = [], 0
                if held >= PIECE:
                    yield b"".join(piece)
                    piece, held = [], 0
            if piece:
                yield b"".join(piece)

        return StreamingResponse(stream(), media_type="application/octet-stream")

    @router.get("/objects/{digest}", name=f"{op}_get_object")
    def get_object(
        digest: str, ctx: Annotated[RepoContext, Depends(reader)], platform: PlatformDep
    ) -> Response:
        check_hash(digest, where="digest")
        _check_reachable(platform, ctx, [digest])
        path = platform.objects.local_path(digest)
        if path is not None:
            return BlobResponse(path, media_type="application/octet-stream")
        return Response(platform.objects.read(digest), media_type="application/octet-stream")

    @router.post("/commits", response_model=CommitResult, status_code=201, name=f"{op}_commit")
    def create_commit(
        body: CommitCreate, ctx: Annotated[RepoContext, Depends(writer)], platform: PlatformDep
    ) -> CommitResult:
        if ctx.access.user.task is not None:  # a task commits its outputs, nothing else
            check_output_branch(ctx.access.user.task, body.branch)
        outcome = platform.versioning.commit(
            ctx.repo.id,
            (Entry(e.path, e.hash, e.size, e.mode) for e in body.entries),
            scope=ctx.scope,
            base=body.base,
            author=ctx.access.user.username,
            message=body.message,
            branch=body.branch,
        )
        if not outcome.unchanged:
            with platform.db.write() as session:
                ActivityRepo(session).record(
                    ctx.access.project.id,
                    ctx.access.user.username,
                    ActivityKind.VERSION_COMMITTED,
                    f"committed {outcome.commit.files} file(s) to {_label(ctx.repo)}"
                    + (f": {body.message}" if body.message else ""),
                    {
                        "repo": ctx.repo.name,
                        "kind": ctx.repo.kind.value,
                        "commit": outcome.commit.id,
                    },
                )
        return CommitResult(
            **commit_out(outcome.commit).model_dump(),
            merged=outcome.merged,
            unchanged=outcome.unchanged,
        )

    @router.get("/commits", response_model=list[CommitOut], name=f"{op}_list_commits")
    def list_commits(
        ctx: Annotated[RepoContext, Depends(reader)],
        platform: PlatformDep,
        branch: Annotated[str, Query(min_length=1, max_length=255)] = "master",
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> list[CommitOut]:
        with platform.db.read() as session:
            commits = VersionRepo(session).log(ctx.repo.id, branch, limit)
            sources = (
                ModelSourceRepo(session).of_commits(c.id for c in commits)
                if ctx.repo.kind is RepoKind.MODEL
                else {}
            )
        return [commit_out(c, sources.get(c.id)) for c in commits]

    @router.get("/branches", response_model=list[BranchOut], name=f"{op}_list_branches")
    def list_branches(
        ctx: Annotated[RepoContext, Depends(reader)],
        platform: PlatformDep,
        prefix: Annotated[str, Query(max_length=255, description="e.g. experiments/")] = "",
        limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    ) -> list[BranchOut]:
        """The branches and their heads, the most recently moved first (at most ``limit``)."""
        with platform.db.read() as session:
            found = VersionRepo(session).recent_branches(ctx.repo.id, prefix, limit)
        return [BranchOut(name=name, head=commit_out(head)) for name, head in found]

    @router.get("/tree", response_model=TreeOut, name=f"{op}_get_tree")
    def get_tree(
        ctx: Annotated[RepoContext, Depends(reader)],
        platform: PlatformDep,
        commit: Annotated[str | None, Query(max_length=255)] = None,
        prefix: Annotated[str | None, Query(max_length=4096)] = None,
    ) -> Response:
        """A version's files (``TreeOut``), encoded here: a tree was checked when committed,
        and 10,000 entry models built and checked twice over took most of a clone's start."""
        found, tree = tree_at(platform, ctx.repo, commit)
        entries = tree.entries
        if prefix:
            folder = check_path(prefix, where="prefix") + "/"
            entries = tuple(e for e in entries if e.path.startswith(folder))
        body = {
            "commit": commit_out(found).model_dump(mode="json"),
            "entries": [
                {"path": e.path, "hash": e.hash, "size": e.size, "mode": e.mode} for e in entries
            ],
        }
        return JSONResponse(body)

    @router.get("/content/{path:path}", name=f"{op}_get_content")
    def get_content(
        path: str,
        ctx: Annotated[RepoContext, Depends(reader)],
        platform: PlatformDep,
        commit: Annotated[str | None, Query(max_length=255)] = None,
    ) -> Response:
        clean = check_path(path)
        _, tree = tree_at(platform, ctx.repo, commit)
        entry = tree.as_dict().get(clean)
        if entry is None:
            raise NotFound(f"no file {clean!r} in that version", where="path")
        media = content_type(clean)
        if media.startswith("text/"):
            media += "; charset=utf-8"
        # Files are user content: never let a browser run them in the API's origin.
        headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
        local = platform.objects.local_path(entry.hash)
        if local is not None:
            return FileResponse(local, media_type=media, headers=headers)
        return Response(platform.objects.read(entry.hash), media_type=media, headers=headers)

    @router.get("/diff", response_model=DiffOut, name=f"{op}_diff")
    def diff_versions(
        ctx: Annotated[RepoContext, Depends(reader)],
        platform: PlatformDep,
        a: Annotated[str, Query(min_length=1, max_length=255, description="Older version")],
        b: Annotated[str | None, Query(max_length=255, description="Newer; default latest")] = None,
        path: Annotated[str | None, Query(max_length=4096, description="A file or folder")] = None,
    ) -> DiffOut:
        old_commit, old = tree_at(platform, ctx.repo, a)
        new_commit, new = tree_at(platform, ctx.repo, b)
        where = check_path(path) if path else None
        files = diff_trees(old, new, platform.objects.read, where)
        return DiffOut(a=old_commit.id, b=new_commit.id, files=files)

    @router.get("/preview/{path:path}", response_model=PreviewOut, name=f"{op}_preview")
    def preview_file(
        path: str,
        ctx: Annotated[RepoContext, Depends(reader)],
        platform: PlatformDep,
        commit: Annotated[str | None, Query(max_length=255)] = None,
        rows: Annotated[int, Query(ge=1, le=10_000)] = 100,
        offset: Annotated[
            int, Query(ge=0, le=MAX_NUMBER, description="CSV and TSV: rows to skip first")
        ] = 0,
    ) -> PreviewOut:
        """What the file viewer shows: a page of CSV rows, text, notebook cells, or image/binary
        facts."""
        clean = check_path(path)
        _, tree = tree_at(platform, ctx.repo, commit)
        entry = tree.as_dict().get(clean)
        if entry is None:
            raise NotFound(f"no file {clean!r} in that version", where="path")
        ext = extension(clean)
        with platform.objects.open(entry.hash) as fh:
            if ext in (".csv", ".tsv"):
                table = table_page(fh, tab=ext == ".tsv", offset=offset, max_rows=rows)
                if table is not None:
                    columns, found, more = table
                    return PreviewOut(
                        path=clean,
                        kind="csv",
                        size=entry.size,
                        content_type=content_type(clean),
                        columns=columns,
                        rows=found,
                        offset=offset,
                        truncated=more,
                    )
                fh.seek(0)
            head = fh.read(PREVIEW_BYTES)
        shown = preview(clean, head, max_rows=rows)
        if entry.size > len(head):
            shown = shown.model_copy(update={"size": entry.size, "truncated": True})
        return shown

    return router


def _label(repo: Repo) -> str:
    return (
        "the project's files" if repo.kind is RepoKind.FILES else f"{repo.kind.value} {repo.name}"
    )


def _record_uploads(platform: Platform, ctx: RepoContext, digests: list[str]) -> None:
    """The bytes were verified against their digests: a commit here may now name them."""
    with platform.db.write() as session:
        VersionRepo(session).record_uploads(ctx.repo.id, digests)


def _size_of(fh: BinaryIO, platform: Platform, digest: str) -> int:
    """An open blob's size: from its descriptor when it has one (no second path lookup)."""
    try:
        return os.fstat(fh.fileno()).st_size
    except (OSError, ValueError, io.UnsupportedOperation):
        return platform.objects.size(digest)


def _check_reachable(platform: Platform, ctx: RepoContext, digests: list[str]) -> None:
    """A blob is served only to callers who may read a repository that references it."""
    for digest in digests:
        check_hash(digest, where="hashes")
    with platform.db.read() as session:
        known = VersionRepo(session).known_objects(ctx.repo.id, digests)
    for digest in digests:
        if digest not in known:
            raise NotFound(f"object {digest} is not part of this {ctx.repo.kind.value}")


files_router = repo_router(RepoKind.FILES, "/projects/{project_id}/files")
datasets_router = repo_router(RepoKind.DATASET, "/projects/{project_id}/datasets/{name}")
models_router = repo_router(RepoKind.MODEL, "/projects/{project_id}/models/{name}")

"""Repositories (project files, datasets, models), their commits, branches and blob index."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from headwater.db.tables import (
    BranchRow,
    CommitRow,
    DatasetQueryRow,
    RepoObjectRow,
    RepoRow,
    RepoUploadRow,
)
from headwater.domain.errors import Conflict, InvalidInput, NotFound
from headwater.domain.ids import new_id
from headwater.domain.versions import (
    DEFAULT_BRANCH,
    BlobScope,
    Commit,
    DatasetQuery,
    Repo,
    RepoKind,
    StaleHead,
    commit_id,
)

_CHUNK = 500


def to_repo(row: RepoRow) -> Repo:
    return Repo(row.id, row.project_id, row.kind, row.name, row.description, row.created_at)


def to_commit(row: CommitRow) -> Commit:
    return Commit(
        id=row.id,
        repo_id=row.repo_id,
        tree=row.tree,
        parents=tuple(row.parents),
        author=row.author,
        message=row.message,
        created_at=row.created_at,
        files=row.files,
        size=row.size,
    )


class VersionRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    # -- repositories -------------------------------------------------------------------------

    def create(self, project_id: str, kind: RepoKind, name: str, description: str = "") -> Repo:
        if self._find(project_id, kind, name) is not None:
            raise Conflict(
                f"a {kind.value} named {name!r} exists already in this project",
                where="name",
                hint="Choose another name, or push a new version to the existing one.",
            )
        row = RepoRow(
            id=new_id(),
            project_id=project_id,
            kind=kind,
            name=name,
            description=description,
            created_at=datetime.now(UTC),
        )
        self.s.add(row)
        try:
            self.s.flush()
        except IntegrityError as exc:
            raise Conflict(f"a {kind.value} named {name!r} exists already", where="name") from exc
        return to_repo(row)

    def _find(self, project_id: str, kind: RepoKind, name: str) -> RepoRow | None:
        return self.s.scalars(
            select(RepoRow).where(
                RepoRow.project_id == project_id, RepoRow.kind == kind, RepoRow.name == name
            )
        ).first()

    def get(self, project_id: str, kind: RepoKind, name: str) -> Repo:
        row = self._find(project_id, kind, name)
        if row is None:
            raise NotFound(
                f"no {kind.value} named {name!r} in this project",
                where=kind.value,
                hint=f"List them with `hw {kind.value} list`.",
            )
        return to_repo(row)

    def files_repo(self, project_id: str) -> Repo:
        """A project's files repository, made on first use."""
        row = self._find(project_id, RepoKind.FILES, "files")
        return to_repo(row) if row else self.create(project_id, RepoKind.FILES, "files")

    def list_repos(self, project_id: str, kind: RepoKind) -> list[Repo]:
        rows = self.s.scalars(
            select(RepoRow)
            .where(RepoRow.project_id == project_id, RepoRow.kind == kind)
            .order_by(RepoRow.name)
        ).all()
        return [to_repo(r) for r in rows]

    def delete_repo(self, repo: Repo) -> None:
        row = self.s.get(RepoRow, repo.id)
        if row is not None:
            self.s.delete(row)

    # -- commits and branches -----------------------------------------------------------------

    def head(self, repo_id: str, branch: str = DEFAULT_BRANCH) -> Commit | None:
        row = self.s.scalars(
            select(CommitRow)
            .join(BranchRow, BranchRow.commit_id == CommitRow.id)
            .where(BranchRow.repo_id == repo_id, BranchRow.name == branch)
        ).first()
        return to_commit(row) if row else None

    def resolve(self, repo_id: str, ref: str | None) -> Commit:
        """A branch name, a full commit id or a unique prefix of at least 4 characters."""
        if ref is None or ref == "":
            ref = DEFAULT_BRANCH
        head = self.head(repo_id, ref)
        if head is not None:
            return head
        if len(ref) < 4:
            raise InvalidInput(
                f"commit {ref!r} is too short to name a version",
                where="commit",
                hint="Give at least 4 characters of the commit id (`hw files versions`).",
            )
        rows = self.s.scalars(
            select(CommitRow)
            .where(CommitRow.repo_id == repo_id, CommitRow.id.startswith(ref))
            .limit(2)
        ).all()
        if len(rows) == 1:
            return to_commit(rows[0])
        if not rows:
            if ref == DEFAULT_BRANCH:
                raise NotFound(
                    "nothing has been committed yet",
                    where="commit",
                    hint="Sync files first (`hw sync`).",
                )
            raise NotFound(f"no version {ref!r}", where="commit", hint="List versions first.")
        raise InvalidInput(
            f"commit prefix {ref!r} matches several versions",
            where="commit",
            hint="Give more characters of the commit id.",
        )

    def log(self, repo_id: str, branch: str = DEFAULT_BRANCH, limit: int = 100) -> list[Commit]:
        """The branch's history, newest first, following first parents."""
        head = self.head(repo_id, branch)
        if head is None:
            return []
        rows = self.s.scalars(select(CommitRow).where(CommitRow.repo_id == repo_id)).all()
        by_id = {r.id: r for r in rows}
        out: list[Commit] = []
        current: CommitRow | None = by_id.get(head.id)
        while current is not None and len(out) < limit:
            out.append(to_commit(current))
            current = by_id.get(current.parents[0]) if current.parents else None
        return out

    def branches(self, repo_id: str) -> dict[str, str]:
        rows = self.s.scalars(select(BranchRow).where(BranchRow.repo_id == repo_id)).all()
        return {r.name: r.commit_id for r in rows}

    def recent_branches(
        self, repo_id: str, prefix: str = "", limit: int = 100
    ) -> list[tuple[str, Commit]]:
        """Branches (whose names start with ``prefix``) and their heads, the most recently
        moved first: what a version menu offers besides master, at most ``limit``."""
        query = (
            select(BranchRow.name, CommitRow)
            .join(CommitRow, CommitRow.id == BranchRow.commit_id)
            .where(BranchRow.repo_id == repo_id)
            .order_by(BranchRow.updated_at.desc(), BranchRow.name)
            .limit(limit)
        )
        if prefix:
            query = query.where(BranchRow.name.startswith(prefix, autoescape=True))
        return [(name, to_commit(row)) for name, row in self.s.execute(query).all()]

    def add_commit(
        self,
        repo_id: str,
        branch: str,
        *,
        tree: str,
        parents: tuple[str, ...],
        author: str,
        message: str,
        files: int,
        size: int,
        expected_head: str | None,
        hashes: Iterable[str],
    ) -> Commit:
        """Write a commit and move ``branch`` to it, only if the branch still points at
        ``expected_head`` (compare-and-swap); otherwise raise ``StaleHead``."""
        at = datetime.now(UTC)
        row = CommitRow(
            id=commit_id(repo_id, tree, parents, author, message, at),
            repo_id=repo_id,
            tree=tree,
            parents=list(parents),
            author=author,
            message=message,
            created_at=at,
            files=files,
            size=size,
        )
        self.s.add(row)
        self.s.flush()
        if expected_head is None:
            self.s.add(BranchRow(repo_id=repo_id, name=branch, commit_id=row.id, updated_at=at))
            try:
                self.s.flush()
            except IntegrityError as exc:
                raise StaleHead(branch) from exc
        else:
            moved = self.s.execute(
                update(BranchRow)
                .where(
                    BranchRow.repo_id == repo_id,
                    BranchRow.name == branch,
                    BranchRow.commit_id == expected_head,
                )
                .values(commit_id=row.id, updated_at=at)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise StaleHead(branch)
        self.record_objects(repo_id, hashes)
        return to_commit(row)

    def set_branch(self, repo_id: str, branch: str, commit: str) -> None:
        row = self.s.get(BranchRow, (repo_id, branch))
        if row is None:
            self.s.add(BranchRow(repo_id=repo_id, name=branch, commit_id=commit))
        else:
            row.commit_id = commit
            row.updated_at = datetime.now(UTC)

    # -- the blob index -----------------------------------------------------------------------

    def record_objects(self, repo_id: str, hashes: Iterable[str]) -> None:
        wanted = set(hashes)
        known = self.known_objects(repo_id, wanted)
        fresh = sorted(wanted - known)
        if fresh:  # one executemany, not a unit of work over thousands of ORM objects
            self.s.execute(insert(RepoObjectRow), [{"repo_id": repo_id, "hash": h} for h in fresh])

    def known_objects(self, repo_id: str, digests: Iterable[str]) -> set[str]:
        """Which of ``digests`` the repository's commits already reference."""
        wanted = sorted(set(digests))
        known: set[str] = set()
        for i in range(0, len(wanted), _CHUNK):
            known.update(
                self.s.scalars(
                    select(RepoObjectRow.hash).where(
                        RepoObjectRow.repo_id == repo_id,
                        RepoObjectRow.hash.in_(wanted[i : i + _CHUNK]),
                    )
                )
            )
        return known

    def visible_objects(self, repo_id: str, scope: BlobScope, digests: Iterable[str]) -> set[str]:
        """Which of ``digests`` the caller may name: referenced by ``repo_id`` or by a
        repository of ``scope.project_id`` of a kind in ``scope.kinds``, or uploaded into
        ``repo_id``. The repository's own index first (most of a sync's tree), then the rest in
        one query per 500 digests."""
        wanted = set(digests)
        found = self.known_objects(repo_id, wanted)
        rest = sorted(wanted - found)
        kinds = sorted(scope.kinds)
        for i in range(0, len(rest), _CHUNK):
            chunk = rest[i : i + _CHUNK]
            referenced = (
                select(RepoObjectRow.hash)
                .join(RepoRow, RepoRow.id == RepoObjectRow.repo_id)
                .where(
                    RepoObjectRow.hash.in_(chunk),
                    RepoRow.project_id == scope.project_id,
                    RepoRow.kind.in_(kinds),
                )
            )
            uploaded = select(RepoUploadRow.hash).where(
                RepoUploadRow.repo_id == repo_id, RepoUploadRow.hash.in_(chunk)
            )
            found.update(self.s.scalars(union(referenced, uploaded)))
        return found

    def record_uploads(self, repo_id: str, digests: Iterable[str]) -> None:
        """Remember that ``digests`` (their bytes verified) were uploaded into ``repo_id``."""
        rows = [{"repo_id": repo_id, "hash": d} for d in sorted(set(digests))]
        if not rows:
            return
        dialect = self.s.get_bind().dialect.name
        stmt = (postgresql if dialect == "postgresql" else sqlite).insert(RepoUploadRow)
        self.s.execute(stmt.on_conflict_do_nothing(), rows)

    def repo_has_object(self, repo_id: str, digest: str) -> bool:
        return self.s.get(RepoObjectRow, (repo_id, digest)) is not None

    def referenced_objects(self) -> set[str]:
        """Every blob some commit reaches (trees included), for gc."""
        blobs = set(self.s.scalars(select(RepoObjectRow.hash).distinct()))
        blobs.update(self.s.scalars(select(CommitRow.tree).distinct()))
        return blobs


class QueryRepo:
    """Saved dataset queries (seed 004): a name, what it is for, and the globs it selects."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def create(
        self, repo: Repo, name: str, query: str, filter_text: str, commit: str | None
    ) -> DatasetQuery:
        if self.s.get(DatasetQueryRow, (repo.id, name)) is not None:
            raise Conflict(
                f"dataset {repo.name!r} has a query named {name!r} already",
                where="name",
                hint="Choose another name, or delete the old query first.",
            )
        row = DatasetQueryRow(
            repo_id=repo.id,
            name=name,
            query=query,
            filter=filter_text,
            commit_id=commit,
            created_at=datetime.now(UTC),
        )
        self.s.add(row)
        return _to_query(row)

    def get(self, repo: Repo, name: str) -> DatasetQuery:
        row = self.s.get(DatasetQueryRow, (repo.id, name))
        if row is None:
            raise NotFound(
                f"dataset {repo.name!r} has no query {name!r}",
                where="query",
                hint=f"List them with `hw dataset query list {repo.name}`.",
            )
        return _to_query(row)

    def list_queries(self, repo: Repo) -> list[DatasetQuery]:
        rows = self.s.scalars(
            select(DatasetQueryRow)
            .where(DatasetQueryRow.repo_id == repo.id)
            .order_by(DatasetQueryRow.name)
        ).all()
        return [_to_query(r) for r in rows]

    def delete(self, repo: Repo, name: str) -> None:
        self.get(repo, name)
        self.s.execute(
            delete(DatasetQueryRow).where(
                DatasetQueryRow.repo_id == repo.id, DatasetQueryRow.name == name
            )
        )


def _to_query(row: DatasetQueryRow) -> DatasetQuery:
    return DatasetQuery(row.name, row.query, row.filter, row.commit_id, row.created_at)

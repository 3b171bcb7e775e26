"""Projects, their members, and who the caller is in each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from headwater.db.repos.activity import ActivityRepo
from headwater.db.tables import MemberRow, ProjectRow, UserRow
from headwater.domain.access import Caller, Grant, ResourceType
from headwater.domain.entities import PERSONAL_PROJECT_NAME, ActivityKind, Member, Project, User
from headwater.domain.errors import Conflict, NotFound
from headwater.domain.ids import new_id
from headwater.domain.naming import check_project_name


def to_project(row: ProjectRow, owner_username: str) -> Project:
    return Project(
        id=row.id,
        name=row.name,
        owner_id=row.owner_id,
        owner_username=owner_username,
        description=row.description,
        public=row.public,
        personal=row.personal,
        created_at=row.created_at,
    )


def to_grant(row: MemberRow) -> Grant:
    return Grant(
        access={
            ResourceType.FILES: row.files,
            ResourceType.JOBS: row.jobs,
            ResourceType.DATASETS: row.datasets,
            ResourceType.MODELS: row.models,
        },
        manage=row.manage,
    )


def caller_in(project: Project, user: User, member: MemberRow | None) -> Caller:
    return Caller(
        user_id=user.id,
        is_admin=user.is_admin,
        is_owner=project.owner_id == user.id,
        grant=to_grant(member) if member is not None else None,
        project_public=project.public,
    )


# The columns a Project and the caller's Grant need (not ``settings``: a JSON parse per row).
_PROJECT_COLUMNS = (
    ProjectRow.id,
    ProjectRow.name,
    ProjectRow.owner_id,
    ProjectRow.description,
    ProjectRow.public,
    ProjectRow.personal,
    ProjectRow.created_at,
    UserRow.username.label("owner_username"),
    MemberRow.user_id.label("member_id"),
    MemberRow.files,
    MemberRow.jobs,
    MemberRow.datasets,
    MemberRow.models,
    MemberRow.manage,
)

_PROJECT_FOR = (
    select(*_PROJECT_COLUMNS)
    .join(UserRow, UserRow.id == ProjectRow.owner_id)
    .outerjoin(
        MemberRow,
        and_(MemberRow.project_id == ProjectRow.id, MemberRow.user_id == bindparam("user_id")),
    )
    .where(ProjectRow.id == bindparam("project_id"))
)


def _project_and_caller(row: Any, user: User) -> tuple[Project, Caller]:
    project = Project(
        id=row.id,
        name=row.name,
        owner_id=row.owner_id,
        owner_username=row.owner_username,
        description=row.description,
        public=row.public,
        personal=row.personal,
        created_at=row.created_at,
    )
    grant = None
    if row.member_id is not None:
        grant = Grant(
            access={
                ResourceType.FILES: row.files,
                ResourceType.JOBS: row.jobs,
                ResourceType.DATASETS: row.datasets,
                ResourceType.MODELS: row.models,
            },
            manage=row.manage,
        )
    caller = Caller(
        user_id=user.id,
        is_admin=user.is_admin,
        is_owner=project.owner_id == user.id,
        grant=grant,
        project_public=project.public,
    )
    return project, caller


def project_for(conn: Connection | Session, project_id: str, user: User) -> tuple[Project, Caller]:
    """A project, its owner's name and who ``user`` is there, in one Core query."""
    row = conn.execute(_PROJECT_FOR, {"project_id": project_id, "user_id": user.id}).first()
    if row is None:
        raise NotFound(
            f"no project with id {project_id!r}",
            where="project",
            hint="List the projects you can access with `hw project list`.",
        )
    return _project_and_caller(row, user)


class ProjectRepo:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.activity = ActivityRepo(session)

    # -- projects -----------------------------------------------------------------------------

    def create(
        self, owner: User, name: str, *, description: str = "", public: bool = False
    ) -> Project:
        check_project_name(name)
        if name == PERSONAL_PROJECT_NAME:
            raise Conflict(
                f"{PERSONAL_PROJECT_NAME!r} is the name of every user's own project",
                where="name",
                hint="Choose another name.",
            )
        self._refuse_taken(owner.id, name)
        row = ProjectRow(
            id=new_id(),
            name=name,
            owner_id=owner.id,
            description=description,
            public=public,
            personal=False,
            settings={},
            created_at=datetime.now(UTC),
        )
        self.s.add(row)
        try:
            self.s.flush()
        except IntegrityError as exc:  # a concurrent create won the race
            raise self._taken(name) from exc
        self.activity.record(
            row.id, owner.username, ActivityKind.PROJECT_CREATED, f"created project {name!r}"
        )
        return to_project(row, owner.username)

    def _refuse_taken(self, owner_id: str, name: str) -> None:
        exists = self.s.scalar(
            select(ProjectRow.id).where(ProjectRow.owner_id == owner_id, ProjectRow.name == name)
        )
        if exists is not None:
            raise self._taken(name)

    @staticmethod
    def _taken(name: str) -> Conflict:
        return Conflict(
            f"you already have a project named {name!r}",
            where="name",
            hint="Choose another name, or use the existing project (`hw project list`).",
        )

    def get_row(self, project_id: str) -> ProjectRow:
        row = self.s.get(ProjectRow, project_id)
        if row is None:
            raise NotFound(
                f"no project with id {project_id!r}",
                where="project",
                hint="List the projects you can access with `hw project list`.",
            )
        return row

    def name(self, project_id: str) -> str:
        """Just the name: one column, no row loaded (a task's launch needs nothing more)."""
        name = self.s.scalar(select(ProjectRow.name).where(ProjectRow.id == project_id))
        if name is None:
            raise NotFound(
                f"no project with id {project_id!r}", where="project", hint="It is gone."
            )
        return name

    def get(self, project_id: str) -> Project:
        row = self.get_row(project_id)
        owner = self.s.get(UserRow, row.owner_id)
        return to_project(row, owner.username if owner else "?")

    def caller(self, project: Project, user: User) -> Caller:
        member = self.s.get(MemberRow, (project.id, user.id))
        return caller_in(project, user, member)

    def list_for(
        self, user: User, *, offset: int = 0, limit: int = 100, search: str | None = None
    ) -> tuple[list[tuple[Project, Caller]], int]:
        """Projects the user may see: owned, shared with them, public (admins: all)."""
        membership = and_(MemberRow.project_id == ProjectRow.id, MemberRow.user_id == user.id)
        query = (
            select(*_PROJECT_COLUMNS)
            .join(UserRow, UserRow.id == ProjectRow.owner_id)
            .outerjoin(MemberRow, membership)
        )
        counted = select(func.count(ProjectRow.id)).outerjoin(MemberRow, membership)
        if not user.is_admin:
            visible = or_(
                ProjectRow.owner_id == user.id,
                MemberRow.user_id.is_not(None),
                ProjectRow.public,
            )
            query, counted = query.where(visible), counted.where(visible)
        if search:
            named = ProjectRow.name.contains(search, autoescape=True)
            query, counted = query.where(named), counted.where(named)
        total = self.s.scalar(counted) or 0
        rows = self.s.execute(
            query.order_by(ProjectRow.personal.desc(), ProjectRow.name, ProjectRow.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_project_and_caller(row, user) for row in rows], total

    def update(
        self, project: Project, actor: User, *, description: str | None, public: bool | None
    ) -> Project:
        row = self.get_row(project.id)
        changes: list[str] = []
        if public is not None and public != row.public:
            if row.personal:
                raise Conflict(
                    "the Personal project cannot be shared, so it cannot be made public",
                    where="public",
                    hint="Create a project with `hw project create` to share work.",
                )
            row.public = public
            changes.append("privacy: " + ("public" if public else "private"))
        if description is not None and description != row.description:
            row.description = description
            changes.append("description")
        if changes:
            self.activity.record(
                row.id,
                actor.username,
                ActivityKind.PROJECT_UPDATED,
                "changed " + ", ".join(changes),
                {"changes": changes},
            )
        return to_project(row, project.owner_username)

    def delete(self, project: Project) -> None:
        if project.personal:
            raise Conflict(
                "the Personal project cannot be removed",
                where="project",
                hint="Delete the resources in it instead.",
            )
        self.s.execute(delete(ProjectRow).where(ProjectRow.id == project.id))

    # -- members ------------------------------------------------------------------------------

    def members(self, project_id: str) -> list[Member]:
        rows = self.s.execute(
            select(MemberRow, UserRow)
            .join(UserRow, UserRow.id == MemberRow.user_id)
            .where(MemberRow.project_id == project_id)
            .order_by(UserRow.username)
        ).all()
        return [self._member(m, u) for m, u in rows]

    @staticmethod
    def _member(row: MemberRow, user: UserRow) -> Member:
        return Member(
            project_id=row.project_id,
            user_id=row.user_id,
            username=user.username,
            email=user.email,
            grant=to_grant(row),
            added_at=row.added_at,
        )

    def add_member(self, project: Project, actor: User, user: User, grant: Grant) -> Member:
        if project.personal:
            raise Conflict(
                "the Personal project cannot be shared",
                where="project",
                hint="Create a project with `hw project create` and add members there.",
            )
        if user.id == project.owner_id:
            raise Conflict(
                f"{user.email} owns this project already", where="email", hint="Add someone else."
            )
        if self.s.get(MemberRow, (project.id, user.id)) is not None:
            raise Conflict(
                f"{user.email} is a member already",
                where="email",
                hint="Change their access with `hw project member update`.",
            )
        row = MemberRow(project_id=project.id, user_id=user.id, added_at=datetime.now(UTC))
        _apply(row, grant)
        self.s.add(row)
        try:
            self.s.flush()
        except IntegrityError as exc:
            raise Conflict(f"{user.email} is a member already", where="email") from exc
        self.activity.record(
            project.id,
            actor.username,
            ActivityKind.MEMBER_ADDED,
            f"added {user.username} ({describe(grant)})",
            {"user": user.username, "access": grant_dict(grant)},
        )
        return self._member(row, self.s.get_one(UserRow, user.id))

    def update_member(self, project: Project, actor: User, user: User, grant: Grant) -> Member:
        row = self._member_row(project, user)
        _apply(row, grant)
        self.activity.record(
            project.id,
            actor.username,
            ActivityKind.MEMBER_CHANGED,
            f"changed {user.username}'s access ({describe(grant)})",
            {"user": user.username, "access": grant_dict(grant)},
        )
        return self._member(row, self.s.get_one(UserRow, user.id))

    def remove_member(
        self, project: Project, actor: User, user: User, *, left: bool = False
    ) -> None:
        row = self._member_row(project, user)
        self.s.delete(row)
        kind = ActivityKind.MEMBER_LEFT if left else ActivityKind.MEMBER_REMOVED
        message = f"{user.username} left" if left else f"removed {user.username}"
        self.activity.record(project.id, actor.username, kind, message, {"user": user.username})

    def member_grant(self, project: Project, user: User) -> Grant:
        return to_grant(self._member_row(project, user))

    def _member_row(self, project: Project, user: User) -> MemberRow:
        row = self.s.get(MemberRow, (project.id, user.id))
        if row is None:
            raise NotFound(
                f"{user.email} is not a member of project {project.name!r}",
                where="member",
                hint=f"List members with `hw project member list {project.id}`.",
            )
        return row


def _apply(row: MemberRow, grant: Grant) -> None:
    row.files = grant.level(ResourceType.FILES)
    row.jobs = grant.level(ResourceType.JOBS)
    row.datasets = grant.level(ResourceType.DATASETS)
    row.models = grant.level(ResourceType.MODELS)
    row.manage = grant.manage


def grant_dict(grant: Grant) -> dict[str, str | bool]:
    out: dict[str, str | bool] = {r.value: grant.level(r).value for r in ResourceType}
    out["manage"] = grant.manage
    return out


def describe(grant: Grant) -> str:
    parts = [f"{r.value}: {grant.level(r).value}" for r in ResourceType]
    if grant.manage:
        parts.append("manage")
    return ", ".join(parts)

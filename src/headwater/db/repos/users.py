"""Users and their API and session tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from headwater.db.tables import ExperimentRow, ProjectRow, TokenRow, UserRow
from headwater.domain.credentials import hash_password, new_token, token_hash, verify_password
from headwater.domain.entities import PERSONAL_PROJECT_NAME, TokenInfo, User
from headwater.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from headwater.domain.ids import new_id
from headwater.domain.jobs import JobState
from headwater.domain.task_scope import TaskScope, check_alive


def to_user(row: UserRow, personal_project_id: str | None = None) -> User:
    return User(
        id=row.id,
        username=row.username,
        email=row.email,
        is_admin=row.is_admin,
        created_at=row.created_at,
        personal_project_id=personal_project_id,
    )


# Built once: constructing a select() per request costs more than running it on SQLite.
# A task's token brings its experiment along (outer join: other tokens have none).
_BY_TOKEN = (
    select(
        UserRow.id,
        UserRow.username,
        UserRow.email,
        UserRow.is_admin,
        UserRow.created_at,
        TokenRow.expires_at,
        TokenRow.experiment_id,
        ExperimentRow.project_id,
        ExperimentRow.number,
        ExperimentRow.state,
        ExperimentRow.ended_at,
    )
    .join(TokenRow, TokenRow.user_id == UserRow.id)
    .outerjoin(ExperimentRow, ExperimentRow.id == TokenRow.experiment_id)
    .where(TokenRow.token_hash == bindparam("token_hash"))
)


def user_by_token(conn: Connection | Session, token: str) -> User:
    """The caller of every request: one indexed Core query, no ORM objects. A task's token
    answers its user stripped of admin, with the task's scope (``domain/task_scope.py``)."""
    found = conn.execute(_BY_TOKEN, {"token_hash": token_hash(token)}).first()
    if found is None:
        raise Unauthenticated(
            "the token is not known to this server",
            where="Authorization",
            hint="Log in again with `hw login`, or ask an admin for a new token.",
        )
    now = datetime.now(UTC)
    if found.expires_at is not None and found.expires_at < now:
        raise Unauthenticated("the session has expired", hint="Log in again.")
    task = None
    if found.experiment_id is not None:
        check_alive(JobState(found.state), found.ended_at, now)
        task = TaskScope(
            experiment_id=found.experiment_id,
            experiment_number=found.number,
            project_id=found.project_id,
        )
    return User(
        id=found.id,
        username=found.username,
        email=found.email,
        is_admin=found.is_admin and task is None,
        created_at=found.created_at,
        personal_project_id=None,
        task=task,
    )


def user_throttle_key(user_id: str) -> str:
    return f"id:{user_id}"


class UserRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def count(self) -> int:
        return self.s.scalar(select(func.count()).select_from(UserRow)) or 0

    def create(
        self, username: str, email: str, *, admin: bool = False, password: str | None = None
    ) -> User:
        """Create the user and its Personal project in the caller's transaction."""
        email = email.strip().lower()
        if len(email) > 254:
            raise InvalidInput(
                "the email address is over 254 characters once lower-cased",
                where="email",
                hint="Use a shorter address.",
            )
        clash = self.s.scalars(
            select(UserRow).where(or_(UserRow.username == username, UserRow.email == email))
        ).first()
        if clash is not None:
            field = "username" if clash.username == username else "email"
            raise Conflict(
                f"a user with {field} {getattr(clash, field)!r} exists already",
                where=field,
                hint=f"Choose another {field}.",
            )
        row = UserRow(
            id=new_id(),
            username=username,
            email=email,
            is_admin=admin,
            password_hash=hash_password(password) if password else None,
            created_at=datetime.now(UTC),
        )
        personal = ProjectRow(
            id=new_id(),
            name=PERSONAL_PROJECT_NAME,
            owner_id=row.id,
            description=f"{username}'s personal project",
            public=False,
            personal=True,
            settings={},
            created_at=row.created_at,
        )
        try:
            self.s.add(row)
            self.s.flush()
            self.s.add(personal)
            self.s.flush()
        except IntegrityError as exc:
            raise Conflict(
                f"user {username!r} or email {email!r} exists already", where="username"
            ) from exc
        return to_user(row, personal.id)

    def _personal_id(self, user_id: str) -> str | None:
        return self.s.scalar(
            select(ProjectRow.id).where(ProjectRow.owner_id == user_id, ProjectRow.personal)
        )

    def get(self, user_id: str) -> User:
        row = self.s.get(UserRow, user_id)
        if row is None:
            raise NotFound(f"no user with id {user_id!r}", where="user")
        return to_user(row, self._personal_id(row.id))

    def find(self, name_or_email: str) -> User:
        """By username, email or id: what a person would type."""
        key = name_or_email.strip()
        row = self.s.scalars(
            select(UserRow).where(
                or_(UserRow.username == key, UserRow.email == key.lower(), UserRow.id == key)
            )
        ).first()
        if row is None:
            raise NotFound(
                f"no user {key!r}",
                where="email",
                hint="Check the spelling; an admin creates users with `hw user create`.",
            )
        return to_user(row, self._personal_id(row.id))

    def list_users(self) -> list[User]:
        rows = self.s.scalars(select(UserRow).order_by(UserRow.username)).all()
        return [to_user(r) for r in rows]

    def issue_token(self, user_id: str, *, kind: str = "api", ttl: timedelta | None = None) -> str:
        """A new API or session token of ``user_id``; the secret is returned once."""
        token = new_token()
        now = datetime.now(UTC)
        self.s.add(
            TokenRow(
                token_hash=token_hash(token),
                id=new_id(),
                user_id=user_id,
                kind=kind,
                created_at=now,
                expires_at=now + ttl if ttl else None,
            )
        )
        return token

    def issue_task_token(self, user_id: str, experiment_id: str) -> str:
        """The token of one experiment's task: it acts for that experiment alone and ends
        with it (``ExperimentRepo.end_task_token``)."""
        token = new_token()
        self.s.add(
            TokenRow(
                token_hash=token_hash(token),
                id=new_id(),
                user_id=user_id,
                kind="task",
                experiment_id=experiment_id,
                created_at=datetime.now(UTC),
            )
        )
        return token

    def revoke_token(self, token: str) -> None:
        self.s.execute(delete(TokenRow).where(TokenRow.token_hash == token_hash(token)))

    def tokens(self, user_id: str, current: str | None) -> list[TokenInfo]:
        """The user's own credentials (API and session tokens; a task's ends with its task),
        newest first; ``current`` (the caller's secret) is marked."""
        now = datetime.now(UTC)
        rows = self.s.scalars(
            select(TokenRow)
            .where(TokenRow.user_id == user_id, TokenRow.experiment_id.is_(None))
            .order_by(TokenRow.created_at.desc(), TokenRow.id)
        ).all()
        mine = token_hash(current) if current else None
        return [
            TokenInfo(
                id=r.id,
                kind=r.kind,
                created_at=r.created_at,
                expires_at=r.expires_at,
                current=r.token_hash == mine,
            )
            for r in rows
            if r.expires_at is None or r.expires_at >= now
        ]

    def revoke_token_id(self, user_id: str, token_id: str) -> None:
        """Revoke one of the user's own tokens by its public id."""
        gone = self.s.execute(
            delete(TokenRow)
            .where(
                TokenRow.id == token_id,
                TokenRow.user_id == user_id,
                TokenRow.experiment_id.is_(None),
            )
            .execution_options(synchronize_session=False)
        )
        if not getattr(gone, "rowcount", 0):
            raise NotFound(
                f"you have no token with id {token_id!r}",
                where="token",
                hint="List your tokens with `hw token list`.",
            )

    def end_sessions(self, user_id: str, *, keep: str | None) -> int:
        """End the user's password sessions but the one holding ``keep``; returns how many."""
        query = delete(TokenRow).where(TokenRow.user_id == user_id, TokenRow.kind == "session")
        if keep is not None:
            query = query.where(TokenRow.token_hash != token_hash(keep))
        gone = self.s.execute(query.execution_options(synchronize_session=False))
        return int(getattr(gone, "rowcount", 0) or 0)

    def by_token(self, token: str) -> User:
        return user_by_token(self.s, token)

    def throttle_key(self, name_or_email: str) -> str:
        """What failed logins are counted under: the user (by username or email alike), or
        the name as typed when no user has it."""
        key = name_or_email.strip()
        found = self.s.scalar(
            select(UserRow.id).where(or_(UserRow.username == key, UserRow.email == key.lower()))
        )
        return user_throttle_key(found) if found else f"name:{key.lower()}"

    def check_password(self, name_or_email: str, password: str) -> User:
        key = name_or_email.strip()
        row = self.s.scalars(
            select(UserRow).where(or_(UserRow.username == key, UserRow.email == key.lower()))
        ).first()
        if row is None or not verify_password(password, row.password_hash):
            raise Unauthenticated(
                "wrong username or password", where="username", hint="Check both and try again."
            )
        return to_user(row)

    def change_password(self, user_id: str, password: str, *, current: str | None) -> None:
        """Set a new password; a user who has one must give it (``current``). A user made
        with a token only sets their first one with that token alone."""
        row = self.s.get(UserRow, user_id)
        if row is None:
            raise NotFound(f"no user with id {user_id!r}", where="user")
        if row.password_hash is not None:
            if current is None:
                raise InvalidInput(
                    "changing a password needs the current one",
                    where="current_password",
                    hint="Send current_password with the new password.",
                )
            if not verify_password(current, row.password_hash):
                raise PermissionDenied(
                    "the current password is wrong",
                    where="current_password",
                    hint="Give the password you log in with now.",
                )
        row.password_hash = hash_password(password)

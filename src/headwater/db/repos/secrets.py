"""Project secrets and third-party keys, sealed with the server's key; never returned in lists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from headwater.db.cipher import SecretBox
from headwater.db.repos.activity import ActivityRepo
from headwater.db.tables import SecretRow, ThirdPartyKeyRow
from headwater.domain.entities import ActivityKind, Project, SecretInfo, ThirdPartyKey, User
from headwater.domain.errors import InvalidInput, NotFound
from headwater.domain.keytypes import THIRD_PARTY_KEY_TYPES
from headwater.domain.naming import check_secret_key, check_secret_value


class SecretRepo:
    def __init__(self, session: Session, box: SecretBox) -> None:
        self.s = session
        self.box = box
        self.activity = ActivityRepo(session)

    # -- secrets ------------------------------------------------------------------------------

    def list_secrets(self, project_id: str) -> list[SecretInfo]:
        rows = self.s.scalars(
            select(SecretRow).where(SecretRow.project_id == project_id).order_by(SecretRow.key)
        ).all()
        return [_info(r) for r in rows]

    def set(
        self,
        project: Project,
        actor: User,
        key: str,
        value: str,
        owner_only: bool | None = None,
    ) -> SecretInfo:
        """Set ``key``; ``owner_only`` None keeps an existing secret's setting (a new one:
        False), so updating a value never widens who receives it."""
        check_secret_key(key)
        check_secret_value(value)
        now = datetime.now(UTC)
        sealed = self.box.seal(value)
        row = self.s.get(SecretRow, (project.id, key))
        if row is None:
            try:
                with self.s.begin_nested():  # a concurrent first set may win the insert
                    row = SecretRow(
                        project_id=project.id,
                        key=key,
                        created_at=now,
                        ciphertext=sealed,
                        updated_at=now,
                        owner_only=bool(owner_only),
                    )
                    self.s.add(row)
            except IntegrityError:
                row = self.s.get_one(SecretRow, (project.id, key), populate_existing=True)
        row.ciphertext = sealed
        row.updated_at = now
        if owner_only is not None:
            row.owner_only = owner_only
        scope = " (owner-only)" if row.owner_only else ""
        self.activity.record(
            project.id, actor.username, ActivityKind.SECRET_SET, f"set secret {key}{scope}"
        )
        return _info(row)

    def delete(self, project: Project, actor: User, key: str) -> None:
        row = self.s.get(SecretRow, (project.id, key))
        if row is None:
            raise NotFound(
                f"no secret {key!r} in project {project.name!r}",
                where="key",
                hint="List the keys with `hw secret list`.",
            )
        self.s.delete(row)
        self.activity.record(
            project.id, actor.username, ActivityKind.SECRET_DELETED, f"deleted secret {key}"
        )

    def values(
        self, project_id: str, *, by_owner: Callable[[], bool] | None = None
    ) -> dict[str, str]:
        """Decrypted values, for the engine when it starts a job; never for the API. With
        ``by_owner``, owner-only secrets are left out unless it says the task was started by
        an owner (asked only when the project has such secrets)."""
        rows = self.s.scalars(select(SecretRow).where(SecretRow.project_id == project_id)).all()
        if by_owner is not None and any(r.owner_only for r in rows) and not by_owner():
            rows = [r for r in rows if not r.owner_only]
        return {r.key: self.box.open(r.ciphertext) for r in rows}

    # -- third-party keys ---------------------------------------------------------------------

    def keys(self, project_id: str) -> list[ThirdPartyKey]:
        rows = self.s.scalars(
            select(ThirdPartyKeyRow)
            .where(ThirdPartyKeyRow.project_id == project_id)
            .order_by(ThirdPartyKeyRow.type)
        ).all()
        return [
            ThirdPartyKey(r.type, r.key_id, self.box.open(r.ciphertext), r.updated_at) for r in rows
        ]

    def set_key(
        self, project: Project, actor: User, type_: str, key_id: str, secret: str
    ) -> ThirdPartyKey:
        if type_ not in THIRD_PARTY_KEY_TYPES:
            raise InvalidInput(
                f"unknown key type {type_!r}",
                where="type",
                hint="Use one of: " + ", ".join(THIRD_PARTY_KEY_TYPES) + ".",
            )
        now = datetime.now(UTC)
        sealed = self.box.seal(secret)
        row = self.s.get(ThirdPartyKeyRow, (project.id, type_))
        if row is None:
            try:
                with self.s.begin_nested():
                    row = ThirdPartyKeyRow(
                        project_id=project.id,
                        type=type_,
                        key_id=key_id,
                        ciphertext=sealed,
                        updated_at=now,
                    )
                    self.s.add(row)
            except IntegrityError:
                row = self.s.get_one(ThirdPartyKeyRow, (project.id, type_), populate_existing=True)
        row.key_id = key_id
        row.ciphertext = sealed
        row.updated_at = now
        self.activity.record(project.id, actor.username, ActivityKind.KEY_SET, f"set {type_} key")
        return ThirdPartyKey(type_, key_id, secret, now)

    def delete_key(self, project: Project, actor: User, type_: str) -> None:
        row = self.s.get(ThirdPartyKeyRow, (project.id, type_))
        if row is None:
            raise NotFound(f"no {type_!r} key in project {project.name!r}", where="type")
        self.s.delete(row)
        self.activity.record(
            project.id, actor.username, ActivityKind.KEY_DELETED, f"deleted {type_} key"
        )

    def copy_keys(self, source_project_id: str, target: Project) -> int:
        rows = self.s.scalars(
            select(ThirdPartyKeyRow).where(ThirdPartyKeyRow.project_id == source_project_id)
        ).all()
        for r in rows:
            self.s.add(
                ThirdPartyKeyRow(
                    project_id=target.id,
                    type=r.type,
                    key_id=r.key_id,
                    ciphertext=r.ciphertext,
                    updated_at=datetime.now(UTC),
                )
            )
        return len(rows)


def _info(row: SecretRow) -> SecretInfo:
    return SecretInfo(row.key, row.created_at, row.updated_at, owner_only=row.owner_only)

"""A project's environment settings, stored as one validated JSON document."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from headwater.db.repos.activity import ActivityRepo
from headwater.db.tables import ProjectRow
from headwater.domain.entities import ActivityKind, Project, User
from headwater.domain.errors import InvalidInput, NotFound
from headwater.domain.naming import check_env_var
from headwater.domain.project_settings import ProjectSettings


def invalid_from(exc: ValidationError, prefix: str) -> InvalidInput:
    """The first pydantic error as our error: what, which field, how to fix."""
    first = exc.errors()[0]
    where = ".".join([prefix, *(str(p) for p in first["loc"])])
    return InvalidInput(
        first["msg"],
        where=where,
        hint=f"See the allowed settings with `hw project show ID --json` ({prefix}).",
    )


class SettingsRepo:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.activity = ActivityRepo(session)

    def _row(self, project_id: str, *, lock: bool = False) -> ProjectRow:
        # Writers lock the row (SELECT ... FOR UPDATE on PostgreSQL) so that two concurrent
        # read-modify-writes of the settings document cannot lose one another's change.
        row = self.s.get(ProjectRow, project_id, with_for_update=lock)
        if row is None:
            raise NotFound(f"no project with id {project_id!r}", where="project")
        return row

    def get(self, project_id: str, *, lock: bool = False) -> ProjectSettings:
        return ProjectSettings.model_validate(self._row(project_id, lock=lock).settings or {})

    def update(self, project: Project, actor: User, changes: dict[str, Any]) -> ProjectSettings:
        row = self._row(project.id, lock=True)
        current = ProjectSettings.model_validate(row.settings or {})
        try:
            updated = current.merged(changes)
        except ValidationError as exc:
            raise invalid_from(exc, "settings") from exc
        changed = sorted(
            k
            for k in updated.model_fields_set | set(changes)
            if getattr(current, k, None) != getattr(updated, k, None)
        )
        if changed:
            row.settings = updated.model_dump(mode="json")
            self.activity.record(
                project.id,
                actor.username,
                ActivityKind.SETTINGS_CHANGED,
                "changed settings: " + ", ".join(changed),
                {"fields": changed},
            )
        return updated

    def set_env(self, project: Project, actor: User, env: dict[str, str]) -> ProjectSettings:
        for key, value in env.items():
            check_env_var(key, value)
        merged = dict(self.get(project.id, lock=True).env)
        merged.update(env)
        return self.update(project, actor, {"env": merged})

    def unset_env(self, project: Project, actor: User, key: str) -> ProjectSettings:
        env = dict(self.get(project.id, lock=True).env)
        if key not in env:
            raise NotFound(
                f"no environment variable {key!r} in project {project.name!r}",
                where="key",
                hint="List them with `hw env list`.",
            )
        del env[key]
        return self.update(project, actor, {"env": env})

"""Compute templates (name, CPUs, memory, GPUs, custom resources); the notifications log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from headwater.db.tables import ComputeTemplateRow, DeliveryRow
from headwater.domain.compute import ComputeTemplate, Resources, check_template
from headwater.domain.errors import Conflict, NotFound


def _template(row: ComputeTemplateRow) -> ComputeTemplate:
    return ComputeTemplate(
        name=row.name,
        resources=Resources(
            cpus=row.cpus,
            memory_mb=row.memory_mb,
            gpus=row.gpus,
            custom={str(k): float(v) for k, v in (row.custom_resources or {}).items()},
        ),
        owner_id=row.owner_id,
    )


def default_templates(total: Resources) -> list[ComputeTemplate]:
    """Defaults from the machine: one core, all cores, and one GPU where there is one."""
    memory = max(256, total.memory_mb)
    found = [
        ComputeTemplate("default", Resources(1.0, min(1024, memory), 0)),
        ComputeTemplate("large", Resources(total.cpus, memory // 2, 0)),
    ]
    if total.gpus:
        found.append(ComputeTemplate("gpu", Resources(1.0, min(4096, memory), 1)))
    return found


class ComputeRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def all(self) -> dict[str, ComputeTemplate]:
        rows = self.s.scalars(select(ComputeTemplateRow).order_by(ComputeTemplateRow.name))
        return {r.name: _template(r) for r in rows}

    def ensure_defaults(self, total: Resources) -> None:
        if self.s.scalar(select(ComputeTemplateRow.name).limit(1)) is not None:
            return
        for template in default_templates(total):
            self._add(template)

    def _add(self, template: ComputeTemplate) -> None:
        res = template.resources
        self.s.add(
            ComputeTemplateRow(
                name=template.name,
                cpus=res.cpus,
                memory_mb=res.memory_mb,
                gpus=res.gpus,
                custom_resources=dict(res.custom),
                owner_id=template.owner_id,
                created_at=datetime.now(UTC),
            )
        )

    def create(
        self,
        name: str,
        cpus: float,
        memory_mb: int,
        gpus: int,
        owner_id: str | None,
        custom: Mapping[str, object] | None = None,
    ) -> ComputeTemplate:
        template = check_template(name, cpus, memory_mb, gpus, custom)
        if self.s.get(ComputeTemplateRow, template.name) is not None:
            raise Conflict(
                f"a compute template named {name!r} exists",
                where="name",
                hint="Pick another name, or delete that template first.",
            )
        template = ComputeTemplate(template.name, template.resources, owner_id)
        self._add(template)
        return template

    def delete(self, name: str) -> ComputeTemplate:
        row = self.s.get(ComputeTemplateRow, name)
        if row is None:
            raise NotFound(
                f"no compute template {name!r}", where="name", hint="See `hw compute list`."
            )
        template = _template(row)
        self.s.delete(row)
        return template


class DeliveryRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def record(
        self,
        project_id: str,
        experiment_id: str | None,
        *,
        channel: str,
        target: str,
        event: str,
        ok: bool,
        attempts: int,
        status: str,
    ) -> None:
        self.s.add(
            DeliveryRow(
                project_id=project_id,
                experiment_id=experiment_id,
                channel=channel,
                target=target,
                event=event,
                ok=ok,
                attempts=attempts,
                status=status,
                at=datetime.now(UTC),
            )
        )

    def list_for(self, project_id: str, limit: int = 100) -> list[DeliveryRow]:
        rows = self.s.scalars(
            select(DeliveryRow)
            .where(DeliveryRow.project_id == project_id)
            .order_by(DeliveryRow.id.desc())
            .limit(limit)
        )
        return list(rows)

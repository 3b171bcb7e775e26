"""Which experiment each model version came from (``model_sources``, migration 0009)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from headwater.db.tables import ModelSourceRow
from headwater.domain.model_sources import ModelSource


class ModelSourceRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def record(self, source: ModelSource) -> None:
        self.s.merge(
            ModelSourceRow(
                commit_id=source.commit_id,
                experiment_id=source.experiment_id,
                experiment_number=source.experiment_number,
                path=source.path,
                params=dict(source.params),
                metrics=dict(source.metrics),
                created_at=source.created_at,
            )
        )

    def of_commits(self, commit_ids: Iterable[str]) -> dict[str, ModelSource]:
        """The sources of those commits that have one (a page of a version listing)."""
        wanted = sorted(set(commit_ids))
        rows = self.s.scalars(
            select(ModelSourceRow).where(ModelSourceRow.commit_id.in_(wanted))
        ).all()
        return {r.commit_id: _to_source(r) for r in rows}


def _to_source(row: ModelSourceRow) -> ModelSource:
    return ModelSource(
        commit_id=row.commit_id,
        experiment_id=row.experiment_id,
        experiment_number=row.experiment_number,
        path=row.path,
        created_at=row.created_at,
        params={str(k): str(v) for k, v in row.params.items()},
        metrics={str(k): float(v) for k, v in row.metrics.items()},
    )

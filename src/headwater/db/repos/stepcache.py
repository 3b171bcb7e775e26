"""The step cache's stored results: recorded when an instance launches, read back with its
experiment's state, and cleared by hand (``hw flow clear-cache``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from headwater.db.tables import CommitRow, ExperimentRow, FlowRunRow, StepCacheRow
from headwater.domain.ids import new_id
from headwater.domain.stepcache import CachedResult, CacheKey

# what a task's "why not cached" looks back over: its newest results
RECENT = 200
_LOCK_CLASS = 1_744_017  # pg_advisory_xact_lock(class, key): apart from the leader's lock


class StepCacheRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def lock_task(self, flow_id: str, task: str) -> None:
        """Serialise cache decisions for one task of one flow until the transaction ends, so
        two runs starting the same task at once see each other's launch (PostgreSQL; SQLite
        has one writer already)."""
        if self.s.get_bind().dialect.name == "postgresql":
            self.s.execute(
                text("SELECT pg_advisory_xact_lock(:c, hashtext(:k))"),
                {"c": _LOCK_CLASS, "k": f"{flow_id}/{task}"},
            )

    def record(
        self,
        *,
        project_id: str,
        flow_id: str,
        task: str,
        run_id: str,
        launched: Iterable[tuple[str, str, CacheKey]],
    ) -> None:
        """One result per launched instance: (instance id, experiment id, key)."""
        now = datetime.now(UTC)
        rows = [
            {
                "id": new_id(),
                "project_id": project_id,
                "flow_id": flow_id,
                "task": task,
                "key": key.key,
                "parts": dict(key.parts),
                "run_id": run_id,
                "instance_id": instance_id,
                "experiment_id": experiment_id,
                "created_at": now,
            }
            for instance_id, experiment_id, key in launched
        ]
        if rows:  # one executemany for a whole fan-out, no ORM objects on the launch path
            self.s.execute(insert(StepCacheRow), rows)

    def _results(self, *where: object, limit: int | None = None) -> list[CachedResult]:
        query = (
            select(
                StepCacheRow,
                FlowRunRow.number,
                ExperimentRow.number,
                ExperimentRow.state,
                ExperimentRow.ended_at,
                ExperimentRow.output_commit,
            )
            .join(ExperimentRow, ExperimentRow.id == StepCacheRow.experiment_id)
            .join(FlowRunRow, FlowRunRow.id == StepCacheRow.run_id)
            .where(*where)  # type: ignore[arg-type]
            .order_by(StepCacheRow.created_at.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        return [
            CachedResult(
                id=row.id,
                task=row.task,
                key=row.key,
                parts=dict(row.parts),
                run_id=row.run_id,
                run_number=run_number,
                instance_id=row.instance_id,
                experiment_id=row.experiment_id,
                experiment_number=number,
                state=state,
                ended_at=ended_at,
                output_commit=output_commit,
                created_at=row.created_at,
            )
            for row, run_number, number, state, ended_at, output_commit in self.s.execute(query)
        ]

    def with_keys(self, flow_id: str, task: str, keys: Sequence[str]) -> list[CachedResult]:
        """Every stored result of the task under one of ``keys``, newest first."""
        if not keys:
            return []
        return self._results(
            StepCacheRow.flow_id == flow_id,
            StepCacheRow.task == task,
            StepCacheRow.key.in_(sorted(set(keys))),
        )

    def recent(self, flow_id: str, task: str) -> list[CachedResult]:
        """The task's newest results, whatever their key: what a miss compares with."""
        return self._results(
            StepCacheRow.flow_id == flow_id, StepCacheRow.task == task, limit=RECENT
        )

    def output_trees(self, experiment_ids: Sequence[str]) -> dict[str, str | None]:
        """Each experiment's output tree (None: it left no outputs), in one query."""
        if not experiment_ids:
            return {}
        rows = self.s.execute(
            select(ExperimentRow.id, CommitRow.tree)
            .outerjoin(CommitRow, CommitRow.id == ExperimentRow.output_commit)
            .where(ExperimentRow.id.in_(sorted(set(experiment_ids))))
        ).all()
        return dict(rows)

    def trees_of(self, commit_ids: Sequence[str]) -> dict[str, str]:
        """Each known commit's tree, in one query (a commit that is gone is absent)."""
        if not commit_ids:
            return {}
        rows = self.s.execute(
            select(CommitRow.id, CommitRow.tree).where(CommitRow.id.in_(list(commit_ids)))
        ).all()
        return {str(row[0]): str(row[1]) for row in rows}

    def clear(self, flow_id: str, task: str | None = None) -> int:
        """Forget the flow's results (one task's with ``task``); returns how many."""
        where = [StepCacheRow.flow_id == flow_id]
        if task is not None:
            where.append(StepCacheRow.task == task)
        result = self.s.execute(delete(StepCacheRow).where(*where))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

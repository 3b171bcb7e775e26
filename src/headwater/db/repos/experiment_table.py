"""The experiments table: a page of a project's experiments filtered and sorted by any column
(``domain.runquery`` resolved, ``runquery`` as SQL), the keys a project's experiments have, and
each listed experiment's metric summaries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from headwater.db.repos.experiments import to_experiment
from headwater.db.repos.runquery import sort_keys, where_of
from headwater.db.tables import ExperimentKeyRow, ExperimentRow, MetricSummaryRow
from headwater.domain.jobs import TERMINAL, Experiment, JobState
from headwater.domain.runquery import Builtin, Catalog, Column, Node, Source

BY_NUMBER = Column(Source.BUILTIN, Builtin.NUMBER.value)


class ExperimentTable:
    def __init__(self, session: Session) -> None:
        self.s = session

    def page(
        self,
        project_id: str,
        *,
        offset: int,
        limit: int,
        state: JobState | None = None,
        ended: bool | None = None,
        numbers: tuple[int, int] | None = None,
        title: str | None = None,
        title_prefix: str | None = None,
        order: Column = BY_NUMBER,
        descending: bool = True,
        where: Node | None = None,
    ) -> tuple[list[Experiment], int]:
        """One page sorted by ``order`` (those without a value last either way), ties broken
        by number so pages never overlap; ``where`` is a resolved filter (``domain.runquery``)."""
        conditions = [ExperimentRow.project_id == project_id]
        if title is not None:  # exact: live jobs are found by their ``live:<job>`` title
            conditions.append(ExperimentRow.title == title)
        if title_prefix:  # every live job is ``live:…``. Not LIKE: SQLite's ignores case
            prefix = func.substr(ExperimentRow.title, 1, len(title_prefix)) == title_prefix
            conditions.append(prefix)
        if state is not None:
            conditions.append(ExperimentRow.state == state)
        if ended is not None:
            done = ExperimentRow.state.in_(sorted(TERMINAL))
            conditions.append(done if ended else ~done)
        if numbers is not None:
            conditions.append(ExperimentRow.number.between(*numbers))
        dialect = self.s.get_bind().dialect.name
        keys = [] if order == BY_NUMBER else sort_keys(order, dialect)
        tie = ExperimentRow.number.desc() if descending else ExperimentRow.number.asc()
        sorts = [(k.desc() if descending else k.asc()).nulls_last() for k in keys]
        found: Sequence[Row[Any]]  # ids, with the total when filtered
        if where is None:  # counted on the project's index alone
            total = self.s.scalar(
                select(func.count()).select_from(ExperimentRow).where(*conditions)
            )
            found = self.s.execute(
                select(ExperimentRow.id)
                .where(*conditions)
                .order_by(*sorts, tie)
                .offset(offset)
                .limit(limit)
            ).all()
        else:  # a filter is evaluated once per run: the count rides along with the page
            conditions.append(where_of(where, dialect))
            found = self.s.execute(  # type: ignore[assignment]
                select(ExperimentRow.id, func.count().over().label("total"))
                .where(*conditions)
                .order_by(*sorts, tie)
                .offset(offset)
                .limit(limit)
            ).all()
            total = found[0].total if found else None
            if total is None and offset > 0:  # past the end: count alone
                total = self.s.scalar(
                    select(func.count()).select_from(ExperimentRow).where(*conditions)
                )
        # the rows themselves only for the page: sorting ids is cheaper than sorting rows
        ids = [r.id for r in found]
        loaded = {
            r.id: r for r in self.s.scalars(select(ExperimentRow).where(ExperimentRow.id.in_(ids)))
        }
        return [to_experiment(loaded[i]) for i in ids], total or 0

    def catalog(self, project_id: str) -> Catalog:
        """The param, tag and metric keys the project's experiments have had (what a filter or
        a sort may name, and what the table's column chooser lists)."""
        rows = self.s.execute(
            select(ExperimentKeyRow.kind, ExperimentKeyRow.key).where(
                ExperimentKeyRow.project_id == project_id
            )
        ).all()
        return Catalog(
            params=frozenset(k for kind, k in rows if kind == "param"),
            tags=frozenset(k for kind, k in rows if kind == "tag"),
            metrics=frozenset(k for kind, k in rows if kind == "metric"),
        )

    def summaries_of(self, ids: Sequence[str]) -> dict[str, dict[str, tuple[float, float, float]]]:
        """Each metric's (latest, min, max) for many experiments (a page of a listing)."""
        out: dict[str, dict[str, tuple[float, float, float]]] = {}
        if not ids:
            return out
        rows = self.s.execute(
            select(
                MetricSummaryRow.experiment_id,
                MetricSummaryRow.key,
                MetricSummaryRow.latest,
                MetricSummaryRow.min,
                MetricSummaryRow.max,
            ).where(MetricSummaryRow.experiment_id.in_(list(ids)))
        ).all()
        for eid, key, latest, low, high in rows:
            out.setdefault(eid, {})[key] = (latest, low, high)
        return out

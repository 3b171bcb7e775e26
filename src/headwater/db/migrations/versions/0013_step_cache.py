"""step cache: results a flow task may reuse (issue 17), and each run's cache choices

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_cache",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("project_id", sa.String(length=16), nullable=False),
        sa.Column("flow_id", sa.String(length=16), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.String(length=16), nullable=False),
        sa.Column("instance_id", sa.String(length=16), nullable=False),
        sa.Column("experiment_id", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_step_cache_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["flow_id"], ["flows.id"], name=op.f("fk_step_cache_flow_id_flows"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["flow_runs.id"],
            name=op.f("fk_step_cache_run_id_flow_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_step_cache_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_cache")),
    )
    op.create_index("ix_step_cache_lookup", "step_cache", ["flow_id", "task", "key"])
    op.create_index(op.f("ix_step_cache_run_id"), "step_cache", ["run_id"])
    op.create_index(op.f("ix_step_cache_experiment_id"), "step_cache", ["experiment_id"])
    with op.batch_alter_table("flow_runs") as batch:
        batch.add_column(sa.Column("cache", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flow_runs") as batch:
        batch.drop_column("cache")
    op.drop_index(op.f("ix_step_cache_experiment_id"), table_name="step_cache")
    op.drop_index(op.f("ix_step_cache_run_id"), table_name="step_cache")
    op.drop_index("ix_step_cache_lookup", table_name="step_cache")
    op.drop_table("step_cache")

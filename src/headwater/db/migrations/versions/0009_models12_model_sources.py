"""models: where a model version came from

A model version registered from an experiment's outputs records the experiment, its number,
parameters and final metrics, so the version shows where it came from.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_sources",
        sa.Column("commit_id", sa.String(length=64), nullable=False),
        sa.Column("experiment_id", sa.String(length=16), nullable=False),
        sa.Column("experiment_number", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commit_id"],
            ["commits.id"],
            name=op.f("fk_model_sources_commit_id_commits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("commit_id", name=op.f("pk_model_sources")),
    )
    op.create_index(
        op.f("ix_model_sources_experiment_id"), "model_sources", ["experiment_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_model_sources_experiment_id"), table_name="model_sources")
    op.drop_table("model_sources")

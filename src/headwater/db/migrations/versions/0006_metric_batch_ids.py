"""metric batch ids

A metric batch carries its sender's id, stored once: a batch resent after its answer was lost
(the server went away meanwhile) would otherwise count its points twice.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 01:00:01.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("metric_chunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ux_metric_chunks_batch", ["experiment_id", "batch", "key"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("metric_chunks", schema=None) as batch_op:
        batch_op.drop_index("ux_metric_chunks_batch")
        batch_op.drop_column("batch")

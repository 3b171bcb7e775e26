"""custom resources in compute templates

A template may name Ray's custom resources (e.g. {"accelerator_type:A100": 1}): the Ray
executor places the task on a node that has them. Existing templates name none.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compute_templates") as batch:
        batch.add_column(
            sa.Column("custom_resources", sa.JSON(), nullable=False, server_default="{}")
        )
    with op.batch_alter_table("compute_templates") as batch:
        batch.alter_column("custom_resources", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("compute_templates") as batch:
        batch.drop_column("custom_resources")

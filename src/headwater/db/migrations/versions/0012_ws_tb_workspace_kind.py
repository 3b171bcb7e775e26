"""workspaces: a kind (JupyterLab or TensorBoard) and the experiment an automatic one follows

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 05:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="jupyter")
        )
        batch.add_column(sa.Column("follows", sa.String(length=16), nullable=True))
        batch.create_index(batch.f("ix_workspaces_follows"), ["follows"])


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_index(batch.f("ix_workspaces_follows"))
        batch.drop_column("follows")
        batch.drop_column("kind")

"""flow tasks: the comment an approver gave with their decision (seed 002, human validation)

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"  # the merger points this at 0013 once that migration is on main
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flow_tasks") as batch:
        batch.add_column(sa.Column("decision_comment", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flow_tasks") as batch:
        batch.drop_column("decision_comment")

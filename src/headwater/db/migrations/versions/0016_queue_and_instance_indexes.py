"""indexes for wide runs: the queue in order, and a run's instances by task

The scheduler reads the head of the queue a page at a time (state, created_at, number, id:
a grid's experiments share one created_at), and the flow pass asks whether a task has an
instance still going, and the API pages a task's instances (run_id, task, created_at, id),
without reading a 10,000-instance run whole.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 07:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.create_index("ix_experiments_queue", ["state", "created_at", "number", "id"])
    with op.batch_alter_table("flow_instances") as batch:
        batch.create_index("ix_flow_instances_run_task", ["run_id", "task", "created_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("flow_instances") as batch:
        batch.drop_index("ix_flow_instances_run_task")
    with op.batch_alter_table("experiments") as batch:
        batch.drop_index("ix_experiments_queue")

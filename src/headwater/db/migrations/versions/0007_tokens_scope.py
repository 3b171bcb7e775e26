"""tokens: a public id, and task tokens bound to their experiment

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 01:00:00

Every token gets an ``id`` that names it in ``GET /auth/tokens`` and ``DELETE /auth/tokens/ID``
(never the hash of its secret). A task's token names its experiment; a task token from before
this revision is bound to the experiment that holds it, and deleted when none does (it would
otherwise act as its user's full token).
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("experiment_id", sa.String(length=16), nullable=True))

    conn = op.get_bind()
    tokens = sa.table(
        "tokens",
        sa.column("token_hash", sa.String),
        sa.column("id", sa.String),
        sa.column("kind", sa.String),
        sa.column("experiment_id", sa.String),
    )
    experiments = sa.table(
        "experiments", sa.column("id", sa.String), sa.column("task_token_hash", sa.String)
    )
    for (digest,) in conn.execute(sa.select(tokens.c.token_hash)).all():
        conn.execute(
            tokens.update().where(tokens.c.token_hash == digest).values(id=secrets.token_hex(6))
        )
    owner = (
        sa.select(experiments.c.id)
        .where(experiments.c.task_token_hash == tokens.c.token_hash)
        .scalar_subquery()
    )
    conn.execute(tokens.update().where(tokens.c.kind == "task").values(experiment_id=owner))
    conn.execute(tokens.delete().where(tokens.c.kind == "task", tokens.c.experiment_id.is_(None)))

    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.alter_column("id", existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_tokens_id"), ["id"])
        batch_op.create_index(batch_op.f("ix_tokens_experiment_id"), ["experiment_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_tokens_experiment_id_experiments"),
            "experiments",
            ["experiment_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    # Without its experiment a task token would be its user's full token: end them all.
    op.execute("DELETE FROM tokens WHERE kind = 'task'")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_tokens_experiment_id_experiments"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_tokens_experiment_id"))
        batch_op.drop_constraint(batch_op.f("uq_tokens_id"), type_="unique")
        batch_op.drop_column("experiment_id")
        batch_op.drop_column("id")

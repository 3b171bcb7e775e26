"""storage: blobs uploaded into a repository

A commit may name only blobs reachable from a repository the caller may read, or uploaded
into the repository it commits to: this table remembers the uploads.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repo_uploads",
        sa.Column("repo_id", sa.String(length=16), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"],
            ["repos.id"],
            name=op.f("fk_repo_uploads_repo_id_repos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repo_id", "hash", name=op.f("pk_repo_uploads")),
    )


def downgrade() -> None:
    op.drop_table("repo_uploads")

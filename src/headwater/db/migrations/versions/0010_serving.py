"""serving: endpoint versions, replicas, keys, the request log and traffic buckets

An endpoint's per-project name becomes ``title`` and it gains ``slug``, its URL name, unique on
the server (``/api/v1/endpoints/<slug>/predict`` names no project).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 04:20:00
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _slugs(rows: list[tuple[str, str]]) -> dict[str, str]:
    """A server-wide slug for each existing endpoint: its title lowercased, suffixed by its id
    where another endpoint took that already (frozen here: migrations never import the domain)."""
    taken: set[str] = set()
    out: dict[str, str] = {}
    for endpoint_id, title in sorted(rows):
        slug = re.sub(r"[^a-z0-9-]+", "-", title.lower()).strip("-")[:100] or "endpoint"
        if slug in taken:
            slug = f"{slug}-{endpoint_id[:6].lower()}"
        taken.add(slug)
        out[endpoint_id] = slug
    return out


def upgrade() -> None:
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.drop_constraint("project_endpoint_slug", type_="unique")
        batch_op.alter_column("slug", new_column_name="title", existing_type=sa.String(100))
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slug", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("min_replicas", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("max_replicas", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("replicas_wanted", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("desired", sa.String(length=16), nullable=False, server_default="running")
        )
        batch_op.add_column(sa.Column("key_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("key_prefix", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("options", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("created_by", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("scaled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint("project_endpoint_title", ["project_id", "title"])

    conn = op.get_bind()
    rows = [(r[0], r[1]) for r in conn.execute(sa.text("SELECT id, title FROM endpoints"))]
    for endpoint_id, slug in _slugs(rows).items():
        conn.execute(
            sa.text("UPDATE endpoints SET slug = :slug WHERE id = :id"),
            {"slug": slug, "id": endpoint_id},
        )
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.alter_column("slug", existing_type=sa.String(length=120), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_endpoints_slug"), ["slug"])
        for column in ("min_replicas", "max_replicas", "replicas_wanted", "desired", "options"):
            batch_op.alter_column(column, server_default=None)

    op.create_table(
        "endpoint_versions",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("endpoint_id", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("traffic", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("flow_run_id", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stepped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["endpoints.id"],
            name=op.f("fk_endpoint_versions_endpoint_id_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoint_versions")),
        sa.UniqueConstraint("endpoint_id", "number", name="endpoint_version_number"),
    )
    op.create_index(op.f("ix_endpoint_versions_endpoint_id"), "endpoint_versions", ["endpoint_id"])

    op.create_table(
        "endpoint_replicas",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("endpoint_id", sa.String(length=16), nullable=False),
        sa.Column("version_id", sa.String(length=16), nullable=False),
        sa.Column("experiment_id", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["endpoints.id"],
            name=op.f("fk_endpoint_replicas_endpoint_id_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["endpoint_versions.id"],
            name=op.f("fk_endpoint_replicas_version_id_endpoint_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoint_replicas")),
    )
    for column in ("endpoint_id", "version_id", "experiment_id"):
        op.create_index(op.f(f"ix_endpoint_replicas_{column}"), "endpoint_replicas", [column])

    op.create_table(
        "endpoint_keys",
        sa.Column("project_id", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_endpoint_keys_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_endpoint_keys")),
    )

    op.create_table(
        "endpoint_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("endpoint_id", sa.String(length=16), nullable=False),
        sa.Column("version_id", sa.String(length=16), nullable=True),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["endpoints.id"],
            name=op.f("fk_endpoint_requests_endpoint_id_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoint_requests")),
    )
    op.create_index("ix_endpoint_requests_endpoint_at", "endpoint_requests", ["endpoint_id", "at"])

    op.create_table(
        "endpoint_traffic",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("endpoint_id", sa.String(length=16), nullable=False),
        sa.Column("version_id", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("inflight_peak", sa.Integer(), nullable=False),
        sa.Column("latency", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["endpoints.id"],
            name=op.f("fk_endpoint_traffic_endpoint_id_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoint_traffic")),
        sa.UniqueConstraint("endpoint_id", "version_id", "bucket", "source", name="traffic_bucket"),
    )
    op.create_index(
        "ix_endpoint_traffic_endpoint_bucket", "endpoint_traffic", ["endpoint_id", "bucket"]
    )


def downgrade() -> None:
    op.drop_index("ix_endpoint_traffic_endpoint_bucket", table_name="endpoint_traffic")
    op.drop_table("endpoint_traffic")
    op.drop_index("ix_endpoint_requests_endpoint_at", table_name="endpoint_requests")
    op.drop_table("endpoint_requests")
    op.drop_table("endpoint_keys")
    for column in ("experiment_id", "version_id", "endpoint_id"):
        op.drop_index(op.f(f"ix_endpoint_replicas_{column}"), table_name="endpoint_replicas")
    op.drop_table("endpoint_replicas")
    op.drop_index(op.f("ix_endpoint_versions_endpoint_id"), table_name="endpoint_versions")
    op.drop_table("endpoint_versions")
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_endpoints_slug"), type_="unique")
        batch_op.drop_constraint("project_endpoint_title", type_="unique")
        for column in (
            "scaled_at",
            "created_by",
            "options",
            "key_prefix",
            "key_hash",
            "desired",
            "replicas_wanted",
            "max_replicas",
            "min_replicas",
            "slug",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.alter_column("title", new_column_name="slug", existing_type=sa.String(100))
        batch_op.create_unique_constraint("project_endpoint_slug", ["project_id", "slug"])

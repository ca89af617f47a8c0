"""The first schema: time buckets and the failure log.

Revision ID: v0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the tables and their indexes."""
    op.create_table(
        "history_buckets",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("flock", sa.String(64), nullable=False),
        sa.Column("event", sa.String(128), nullable=False),
        sa.Column("business", sa.String(128), nullable=False),
        sa.Column("resolution", sa.Integer, nullable=False),
        sa.Column("start", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("monkeys", sa.Integer, nullable=False),
        sa.Column("histogram", sa.Text, nullable=False),
        sa.Column("rolled", sa.Boolean, nullable=False),
    )
    op.create_index("ix_history_buckets_flock", "history_buckets", ["flock", "resolution", "start"])
    op.create_index(
        "ix_history_buckets_rollup", "history_buckets", ["resolution", "rolled", "start"]
    )
    op.create_table(
        "history_failures",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("time", sa.Double, nullable=False),
        sa.Column("flock", sa.String(64), nullable=False),
        sa.Column("monkey", sa.String(128), nullable=False),
        sa.Column("business", sa.String(128), nullable=False),
        sa.Column("error_type", sa.String(200), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("step", sa.Text, nullable=True),
        sa.Column("log_path", sa.Text, nullable=True),
    )
    op.create_index("ix_history_failures_flock", "history_failures", ["flock", "time"])
    op.create_index("ix_history_failures_time", "history_failures", ["time"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("history_failures")
    op.drop_table("history_buckets")

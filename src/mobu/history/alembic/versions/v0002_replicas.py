"""Shared state of a replica group: desired flocks, autostart records, heartbeats.

Revision ID: v0002
Revises: v0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v0002"
down_revision: str | None = "v0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the tables of :mod:`mobu.replicas.tables`."""
    op.create_table(
        "replica_flocks",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.Column("refresh", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("updated", sa.Double, nullable=False),
    )
    op.create_table(
        "replica_autostart",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("written", sa.Double, nullable=False),
    )
    op.create_table(
        "replica_heartbeats",
        sa.Column("replica", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("seen", sa.Double, nullable=False),
        sa.Column("started", sa.Double, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("replica_heartbeats")
    op.drop_table("replica_autostart")
    op.drop_table("replica_flocks")

"""Tables of the shared state (created by the history store's Alembic migration v0002).

``replica_flocks`` holds the desired flocks: the spec as given (JSON), a ``generation`` bumped
by every start or replacement, a ``refresh`` counter bumped by every refresh request. A
replica runs its share of every row and stops what has no row. ``replica_autostart`` records
each autostart flock (name and digest of its spec) written once for the whole group.
``replica_heartbeats`` has one row per replica index: when it last reported, its URL and its
state (JSON: per flock the generation it runs, its summary, statistics export and monkeys).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Double, Integer, MetaData, String, Table, Text

__all__ = ["autostarts", "desired", "heartbeats", "metadata"]

metadata = MetaData()

desired = Table(
    "replica_flocks",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("spec", Text, nullable=False),
    Column("generation", BigInteger, nullable=False),
    Column("refresh", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Column("updated", Double, nullable=False),
)

autostarts = Table(
    "replica_autostart",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("written", Double, nullable=False),
)

heartbeats = Table(
    "replica_heartbeats",
    metadata,
    Column("replica", Integer, primary_key=True),
    Column("url", Text, nullable=True),
    Column("seen", Double, nullable=False),
    Column("started", Double, nullable=False),
    Column("state", Text, nullable=False),
)

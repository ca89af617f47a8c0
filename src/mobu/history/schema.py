"""Tables of the history store (SQLAlchemy Core; created and changed by Alembic migrations).

``history_buckets`` holds one row per flock, event type and minute (``resolution`` 60) as
written by one writer, and the hourly roll-ups (``resolution`` 3600). Rows are only ever
appended, rolled up (minute rows marked ``rolled`` once an hourly row holds them) and deleted:
a reader merges every row of a bucket, so writers (replicas, restarts) never update each other's
rows. ``histogram`` is the JSON of :meth:`mobu.services.stats.LogHistogram.to_dict`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["buckets", "failures", "metadata"]

metadata = MetaData()

_ID = BigInteger().with_variant(Integer(), "sqlite")
"""Row ids: 64-bit, and SQLite's rowid alias."""

buckets = Table(
    "history_buckets",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("flock", String(64), nullable=False),
    Column("event", String(128), nullable=False),
    Column("business", String(128), nullable=False),
    Column("resolution", Integer, nullable=False),
    Column("start", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("monkeys", Integer, nullable=False),
    Column("histogram", Text, nullable=False),
    Column("rolled", Boolean, nullable=False),
    Index("ix_history_buckets_flock", "flock", "resolution", "start"),
    Index("ix_history_buckets_rollup", "resolution", "rolled", "start"),
)

failures = Table(
    "history_failures",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("time", Double, nullable=False),
    Column("flock", String(64), nullable=False),
    Column("monkey", String(128), nullable=False),
    Column("business", String(128), nullable=False),
    Column("error_type", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("step", Text, nullable=True),
    Column("log_path", Text, nullable=True),
    Index("ix_history_failures_flock", "flock", "time"),
    Index("ix_history_failures_time", "time"),
)

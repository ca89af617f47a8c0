"""Alembic migrations of the history store, run programmatically at startup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.config import Config as AlembicConfig
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from mobu.history.schema import metadata

__all__ = ["ALEMBIC_DIR", "VERSION_TABLE", "current_revision", "head_revision", "upgrade"]

ALEMBIC_DIR = Path(__file__).parent / "alembic"
"""The migration scripts (``versions/``)."""

VERSION_TABLE = "history_alembic_version"
"""Alembic's version table (named so that it can share a database with other applications)."""


def _script() -> tuple[AlembicConfig, ScriptDirectory]:
    config = AlembicConfig()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    return config, ScriptDirectory.from_config(config)


def head_revision() -> str | None:
    """The newest revision of the scripts."""
    return _script()[1].get_current_head()


def _upgrade(connection: Connection) -> None:
    config, script = _script()

    def steps(revision: Any, _context: Any) -> Any:
        return script._upgrade_revs("head", revision)  # what `alembic upgrade` runs

    with EnvironmentContext(config, script, fn=steps, destination_rev="head") as env:
        env.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
        with env.begin_transaction():
            env.run_migrations()


def _current(connection: Connection) -> str | None:
    config, script = _script()
    with EnvironmentContext(config, script) as env:
        env.configure(connection=connection, version_table=VERSION_TABLE)
        return env.get_context().get_current_revision()


MIGRATION_LOCK = 0x6D6F6275
"""PostgreSQL advisory lock held while migrating: replicas starting together migrate in turn."""


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the store's schema to the newest revision (creating it in an empty database)."""
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        await connection.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the store is at (None: not created yet)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)

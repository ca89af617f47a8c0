"""The real local PostgreSQL of the tests (history store, replica groups), on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mobu.platform.postgres import PostgresServer, postgres_bin_dir, run_postgres

__all__ = ["NO_POSTGRES", "postgres"]

NO_POSTGRES = "PostgreSQL is not installed (scripts/install/postgres.sh needs root and apt-get)"


@pytest.fixture
async def postgres() -> AsyncIterator[PostgresServer]:
    """A throwaway PostgreSQL cluster on a free loopback port."""
    if postgres_bin_dir() is None:
        pytest.skip(NO_POSTGRES)
    async with run_postgres() as server:
        yield server

"""Fixtures of the history tests: a store URL on SQLite and on a real PostgreSQL, a fake clock.

The ``postgres`` fixture is shared with the replica tests (tests/support/postgres.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mobu.events import TimedEvent
from mobu.history import History, HistoryConfig
from mobu.platform.postgres import postgres_bin_dir, run_postgres
from mobu.services.builder import null_logger
from tests.support.postgres import NO_POSTGRES, postgres

__all__ = ["postgres"]

T0 = 1_800_000_000.0
"""A fixed start time (2027-01-15 08:00 UTC, a whole hour)."""


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


class Check(TimedEvent):
    """The event the store tests publish."""


def check(flock: str, user: str, *, success: bool = True, seconds: float = 0.1) -> Check:
    """One event of ``flock`` by ``user``."""
    return Check(
        flock=flock,
        username=user,
        business="Tester",
        success=success,
        duration=timedelta(seconds=seconds),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """URL of an empty store: a SQLite file, or a database on a real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'history.sqlite3'}"
        return
    if postgres_bin_dir() is None:
        pytest.skip(NO_POSTGRES)
    async with run_postgres() as server:
        yield server.url


def history_config(url: str, **settings: Any) -> HistoryConfig:
    """A history section writing only when asked (no timed flush or maintenance)."""
    values: dict[str, Any] = {
        "url": url,
        "flush_interval": "1h",
        "maintenance_interval": "1h",
        **settings,
    }
    return HistoryConfig.model_validate(values)


def make_history(url: str, clock: Clock, tmp_path: Path, **settings: Any) -> History:
    """A history on ``url`` with the fake clock."""
    return History(
        history_config(url, **settings),
        data_dir=tmp_path,
        logger=null_logger(),
        log_prefix="/mobu",
        clock=clock,
    )

"""The ``history:`` section: where the history store lives, what it keeps, how it writes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from mobu.models.timedelta import HumanTimedelta

__all__ = ["HISTORY_FILE", "HistoryConfig"]

HISTORY_FILE = "history.sqlite3"
"""Name of the embedded store's file in the data directory."""

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
"""The async driver used for each database (a URL without a driver gets it)."""


class HistoryConfig(BaseModel):
    """History kept by the service: per flock and event type, one row per minute, and failures.

    The default store is a SQLite file in the data directory; ``url`` names another one
    (``postgresql://user:password@host/db``, shared between replicas).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Keep a history of results and failures")
    url: SecretStr | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the store (sqlite:///path or postgresql://user:pw@host/db);"
            " default: a SQLite file history.sqlite3 in data_dir"
        ),
    )
    retention: HumanTimedelta = Field(timedelta(days=90), description="How long anything is kept")
    minutes_kept: HumanTimedelta = Field(
        timedelta(days=7),
        description="How long per-minute rows are kept; older ones survive only as hourly rows",
    )
    max_rows: int = Field(
        5_000_000, ge=1000, description="Most time-bucket rows kept (the oldest go first)"
    )
    max_failures: int = Field(
        200_000, ge=100, description="Most failure-log entries kept (the oldest go first)"
    )
    buffer_rows: int = Field(
        50_000,
        ge=10,
        description="Rows and failures waiting in memory while the store is slow or down",
    )
    flush_interval: HumanTimedelta = Field(
        timedelta(seconds=5), description="How often finished minutes are written"
    )
    write_timeout: HumanTimedelta = Field(
        timedelta(seconds=10), description="Longest one write may take before it is retried"
    )
    maintenance_interval: HumanTimedelta = Field(
        timedelta(minutes=5), description="How often hourly roll-up and retention run"
    )
    close_timeout: HumanTimedelta = Field(
        timedelta(seconds=10), description="Longest the final write at shutdown may take"
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.minutes_kept > self.retention:
            raise ValueError("history.minutes_kept must not exceed history.retention")
        if self.url is not None:
            async_url(self.url.get_secret_value())
        return self

    def store_url(self, data_dir: Path) -> str:
        """The async SQLAlchemy URL of the store (default: the SQLite file in ``data_dir``)."""
        if self.url is None:
            return f"sqlite+aiosqlite:///{data_dir / HISTORY_FILE}"
        return async_url(self.url.get_secret_value())


def async_url(url: str) -> str:
    """``url`` with the async driver of its database; ValueError if it is not supported."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("history.url is not a database URL") from None
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise ValueError("history.url must name a sqlite or postgresql database")
    driver = _DRIVERS[backend]
    if parsed.drivername not in (backend, driver):
        raise ValueError(f"history.url: use {backend}:// or {driver}://")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)

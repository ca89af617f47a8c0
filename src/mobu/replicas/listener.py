"""``LISTEN`` for desired-state changes on a dedicated asyncpg connection, reconnecting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from structlog.typing import FilteringBoundLogger

__all__ = ["listen"]

MAX_BACKOFF = 5.0
"""Longest wait between two connection attempts (seconds)."""


async def listen(
    dsn: str,
    channel: str,
    *,
    changed: Callable[[], None],
    keepalive: float,
    logger: FilteringBoundLogger,
) -> None:
    """Call ``changed`` on every notification on ``channel``, and after each (re)connection
    (notifications sent while disconnected are lost: the caller re-reads the whole state).

    Runs until cancelled. A connection that is lost (the server restarted) is noticed by its
    termination callback or by the ``SELECT 1`` sent every ``keepalive`` seconds; it is then
    reopened with a backoff.
    """
    delay = 0.2
    down = False
    while True:
        try:
            connection = await asyncpg.connect(dsn, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            if not down:
                logger.warning("Shared state: cannot listen; retrying", error=str(exc))
                down = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)
            continue
        delay = 0.2
        if down:
            logger.info("Shared state: listening again")
            down = False
        try:
            await _serve(connection, channel, changed, keepalive)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            logger.warning("Shared state: listener connection lost", error=str(exc))
            down = True
        finally:
            connection.terminate()


async def _serve(
    connection: Any, channel: str, changed: Callable[[], None], keepalive: float
) -> None:
    lost = asyncio.Event()

    def notified(*_args: object) -> None:
        changed()

    connection.add_termination_listener(lambda *_args: lost.set())
    await connection.add_listener(channel, notified)
    changed()
    while not lost.is_set():
        try:
            await asyncio.wait_for(lost.wait(), keepalive)
        except TimeoutError:
            await asyncio.wait_for(connection.fetchval("SELECT 1"), keepalive)
    raise OSError("connection closed")

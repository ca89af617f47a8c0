"""Checking that a business acknowledges a stop by itself while its backend hangs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import structlog
from structlog.testing import CapturingLogger

from mobu.alerts.reporting import Reporters
from mobu.models.monkey import MonkeyState
from mobu.services.business.base import Business
from mobu.services.monkey import Monkey

__all__ = ["HANG_BOUND", "PATIENT_GRACE", "assert_stops_by_itself", "silent_server"]

PATIENT_GRACE = timedelta(seconds=600)
"""Stop grace so long that a business only beats :data:`HANG_BOUND` by stopping itself."""

HANG_BOUND = 120.0
"""Seconds that only a hang reaches (a safety net, not a timing threshold)."""


async def assert_stops_by_itself(
    business: Business[Any], hung: Callable[[], Awaitable[object]]
) -> Monkey:
    """Run ``business`` in a monkey, stop it once ``hung()`` returns, check it stopped itself.

    ``hung`` waits until the backend hangs (e.g. ``event.wait``).

    The monkey's grace is :data:`PATIENT_GRACE`, so the stop returning within
    :data:`HANG_BOUND` and the monkey never taking its cancel path both mean that the
    business acknowledged the stop while its backend still hung.
    """
    capture = CapturingLogger()
    logger = structlog.wrap_logger(
        capture, wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG), processors=[]
    )
    monkey = Monkey(
        name=business.user.username,
        flock="stop-test",
        business=business,
        restart=False,
        log=None,
        logger=logger,
        stop_grace=PATIENT_GRACE,
        reporters=Reporters(),
    )
    async with asyncio.TaskGroup() as tg:
        monkey.start(tg)
        async with asyncio.timeout(HANG_BOUND):
            await hung()
        assert not business.stopping
        async with asyncio.timeout(HANG_BOUND):
            await monkey.stop()
        task = monkey._task
        assert task is not None
        assert task.done()
        assert not task.cancelled(), "the business was cancelled, not stopped"
    assert monkey.state == MonkeyState.FINISHED
    assert business.stopping
    assert business.failure_count == 0
    calls = repr(capture.calls)
    assert "did not stop within grace" not in calls, "the monkey's cancel path was taken"
    assert "Exception thrown" not in calls
    return monkey


@asynccontextmanager
async def silent_server() -> AsyncIterator[tuple[int, asyncio.Event]]:
    """A loopback server that accepts connections and never answers; the event fires on one."""
    connected = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        connected.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    try:
        yield port, connected
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()

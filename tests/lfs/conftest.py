"""Fixtures of the GitLFS tests: giftless and a git server on free loopback ports."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psutil
import pytest
import structlog
from structlog.testing import CapturingLogger
from structlog.typing import FilteringBoundLogger

from mobu.platform.lfs import LfsServers, run_lfs_servers

TOKEN = "gt-lfs-test-token.s3cr3t"


@pytest.fixture
async def lfs_servers() -> AsyncIterator[LfsServers]:
    """giftless (read and write ports) and the git server, accepting ``TOKEN``."""
    async with run_lfs_servers(token=TOKEN) as servers:
        yield servers


@pytest.fixture
def capture() -> CapturingLogger:
    """Records every log call of the business."""
    return CapturingLogger()


@pytest.fixture
def logger(capture: CapturingLogger) -> FilteringBoundLogger:
    """A debug-level logger that records into ``capture``."""
    wrapped: FilteringBoundLogger = structlog.wrap_logger(
        capture,
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        processors=[],
    )
    return wrapped


@asynccontextmanager
async def black_hole() -> AsyncIterator[tuple[int, asyncio.Event]]:
    """A server that accepts connections and never answers; the event fires on the first one."""
    connected = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        connected.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, connected
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


def group_members(pgids: set[int]) -> list[psutil.Process]:
    """Live (non-zombie) processes whose process group is one of ``pgids``."""
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) in pgids and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


async def survivors(pgids: set[int]) -> list[str]:
    """Processes of ``pgids`` still alive after those being killed had 10 s to finish dying."""
    members = group_members(pgids)
    _, alive = await asyncio.to_thread(psutil.wait_procs, members, 10)
    return [f"{p.pid} {p.status()} {p.cmdline()}" for p in alive if p.is_running()]

"""Fixtures of the GitLFS tests: giftless and a git server on free loopback ports."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import structlog
from structlog.testing import CapturingLogger
from structlog.typing import FilteringBoundLogger

from mobu.testing.lfs import LfsServers, run_lfs_servers

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

"""Fixtures shared by every test area: the engine wired with a test registry."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from mobu.alerts.reporting import Reporters
from mobu.events import Events
from mobu.identity import AnonymousIdentity
from mobu.registry import BusinessRegistry
from mobu.services.builder import MonkeyBuilder, null_logger
from mobu.services.business.empty import EmptyLoop
from mobu.services.business.httpcheck import HTTPCheck
from mobu.services.manager import FlockManager
from mobu.services.resources import BusinessServices
from mobu.storage.monkeylog import MonkeyLogDirectory
from tests.support.businesses import Hanging, Probe, Streaming
from tests.support.target import Target, run_target

# The local platform's launchers (and `mobu demo` run by tests/demo) find the services installed by
# scripts/install/*.sh under the repository's .services, whatever the working directory.
os.environ.setdefault("MOBU_PLATFORM_DIR", str(Path(__file__).parents[1] / ".services"))
# What the tests' mobu processes write (the history store in the default data_dir) goes to a
# directory of this test run, not to the user's ~/.local/state/mobu.
os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp(prefix="mobu-tests-state-"))


@pytest.fixture
def registry() -> BusinessRegistry:
    """Built-in businesses plus the lifecycle probes."""
    return BusinessRegistry(
        {
            "EmptyLoop": EmptyLoop,
            "HTTPCheck": HTTPCheck,
            "Probe": Probe,
            "Hanging": Hanging,
            "Streaming": Streaming,
        }
    )


@pytest.fixture
def events() -> Events:
    """In-memory events."""
    return Events()


@pytest.fixture
async def services() -> AsyncIterator[BusinessServices]:
    """Process-wide collaborators, closed after the test."""
    services = BusinessServices()
    yield services
    await services.aclose()


@pytest.fixture
def log_directory() -> MonkeyLogDirectory:
    """A fresh directory for monkey logs."""
    directory = MonkeyLogDirectory()
    yield directory  # type: ignore[misc]
    directory.remove()


@pytest.fixture
def builder(
    registry: BusinessRegistry,
    events: Events,
    services: BusinessServices,
    log_directory: MonkeyLogDirectory,
) -> MonkeyBuilder:
    """Builds monkeys with a short stop grace."""
    return MonkeyBuilder(
        registry=registry,
        services=services,
        events=events,
        reporters=Reporters(),
        logger=null_logger(),
        log_directory=log_directory,
        stop_grace=timedelta(seconds=0.5),
    )


@pytest.fixture
async def manager(builder: MonkeyBuilder) -> AsyncIterator[FlockManager]:
    """A running flock manager."""
    async with FlockManager(
        builder=builder, identity=AnonymousIdentity(), logger=null_logger()
    ) as manager:
        yield manager


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    """A real HTTP server on a free loopback port."""
    async with run_target() as target:
        yield target

"""Running Jupyter businesses against the local hub through the real engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import structlog
from structlog.typing import FilteringBoundLogger

from mobu.alerts.reporting import FailureReport
from mobu.config import Config
from mobu.discovery import Discovery
from mobu.events import EventBase, Events
from mobu.factory import ProcessContext
from mobu.models.business.notebookrunner import NotebookRunnerOptions
from mobu.models.flock import FlockConfig
from mobu.models.user import AuthenticatedUser
from mobu.platform.hub import LocalHub
from mobu.registry import BusinessRegistry
from mobu.services.business.notebookrunnerinfinite import NotebookRunnerInfinite
from mobu.services.flock import Flock
from mobu.services.notebooks import CodeCell
from mobu.services.repo import RepoCache

WAIT = 120.0
"""Generous bound on any wait for a lab-cycle event (spawns take 4-20 s on 2 cores)."""


class FailureCollector:
    """A failure reporter that lets tests wait for failures."""

    def __init__(self) -> None:
        self.reports: list[FailureReport] = []
        self._changed = asyncio.Event()

    def failure(self, report: FailureReport) -> None:
        """Record a failure."""
        self.reports.append(report)
        self._changed.set()

    async def wait_for(self, count: int = 1) -> list[FailureReport]:
        """Wait until ``count`` failures were reported."""
        async with asyncio.timeout(WAIT):
            while len(self.reports) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.reports


class WatchedNotebookRunner(NotebookRunnerInfinite):
    """The real infinite runner, which also tells tests when a cell starts executing."""

    def __init__(
        self,
        *,
        options: NotebookRunnerOptions,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
        http_client: httpx.AsyncClient,
        discovery: Discovery,
        repo_cache: RepoCache,
    ) -> None:
        super().__init__(
            options=options,
            user=user,
            events=events,
            logger=logger,
            flock=flock,
            http_client=http_client,
            discovery=discovery,
            repo_cache=repo_cache,
        )
        self.started_cells: list[int] = []
        self.cell_started = asyncio.Event()

    async def execute_cell(self, notebook: Path, cell: CodeCell) -> None:
        """Note the start of the cell, then run it."""
        self.started_cells.append(cell.number)
        self.cell_started.set()
        await super().execute_cell(notebook, cell)

    async def wait_for_cell(self, number: int) -> None:
        """Wait (bounded) until cell ``number`` has started."""
        async with asyncio.timeout(WAIT):
            while number not in self.started_cells:
                self.cell_started.clear()
                await self.cell_started.wait()


def hub_config(hub_url: str, admin_token: str, **extra: Any) -> Config:
    """A configuration whose identity mints tokens on the hub."""
    data: dict[str, Any] = {
        "log_monkeys_to_file": True,
        "stop_grace": 30,
        "discovery": {"services": {"hub": hub_url}, "applications": extra.pop("applications", [])},
        "identity": {"provider": "jupyterhub", "admin_token": admin_token},
    }
    data.update(extra)
    return Config(**data)


@asynccontextmanager
async def running(
    hub: LocalHub, **extra: Any
) -> AsyncIterator[tuple[ProcessContext, Events, FailureCollector]]:
    """A process context wired to ``hub`` with recorded events and failures."""
    events = Events()
    failures = FailureCollector()
    registry = BusinessRegistry()  # this context's own: registering here leaks nowhere
    registry.register("WatchedNotebookRunner", WatchedNotebookRunner)
    context = ProcessContext(
        hub_config(hub.url, hub.admin_token, **extra),
        logger=structlog.get_logger("mobu-test"),
        events=events,
        registry=registry,
    )
    context.reporters.add(failures)
    async with context:
        yield context, events, failures


async def start(context: ProcessContext, **flock: Any) -> Flock:
    """Start a flock from keyword arguments of :class:`FlockConfig`."""
    config = FlockConfig.model_validate(flock)
    return await context.manager.start_flock(config)


async def wait_events(events: Events, name: str, count: int = 1) -> list[EventBase]:
    """Wait (bounded) for ``count`` events named ``name``."""
    assert events.recorder is not None
    async with asyncio.timeout(WAIT):
        return await events.recorder.wait_for(name, count)


async def wait_until(
    events: Events, name: str, predicate: Callable[[list[EventBase]], bool]
) -> list[EventBase]:
    """Wait (bounded) until the events named ``name`` satisfy ``predicate``."""
    assert events.recorder is not None
    count = events.recorder.count(name)
    async with asyncio.timeout(WAIT):
        while True:
            published = events.recorder.published(name)
            if predicate(published):
                return published
            count += 1
            await events.recorder.wait_for(name, count)


FAST = {
    "spawn_settle_time": 0,
    "execution_idle_time": 0,
    "idle_time": 0,
    "error_idle_time": 1,
    "delete_timeout": 60,
    "spawn_timeout": 120,
}
"""Options that keep the lab cycle quick in tests."""

"""FlockManager: owns every flock and the task group their monkeys run in."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from structlog.typing import FilteringBoundLogger

from mobu.exceptions import FlockNotFoundError
from mobu.identity import IdentityProvider
from mobu.models.flock import FlockConfig, FlockSummary
from mobu.services.builder import MonkeyBuilder
from mobu.services.flock import Flock
from mobu.services.stats import StatsCollector

__all__ = ["AutostartFailure", "FlockManager"]


@dataclass(slots=True)
class AutostartFailure:
    """A flock from the configuration that failed to start."""

    name: str
    error: str


class FlockManager:
    """Starts, lists, summarises and stops flocks.

    Use as an async context manager: entering it opens the task group that owns every monkey
    task, leaving it stops every flock (each monkey within its stop grace) and closes the group.
    """

    def __init__(
        self,
        *,
        builder: MonkeyBuilder,
        identity: IdentityProvider,
        logger: FilteringBoundLogger,
        replica_count: int = 1,
        replica_index: int = 0,
        stats: StatsCollector | None = None,
    ) -> None:
        self._builder = builder
        self.stats = stats
        self._identity = identity
        self._logger = logger
        self._replica_count = replica_count
        self._replica_index = replica_index
        self._flocks: dict[str, Flock] = {}
        self._task_group: asyncio.TaskGroup | None = None
        self.autostart_failures: list[AutostartFailure] = []

    async def __aenter__(self) -> Self:
        self._task_group = asyncio.TaskGroup()
        await self._task_group.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.stop_all()
        finally:
            task_group, self._task_group = self._task_group, None
            if task_group is not None:
                await task_group.__aexit__(exc_type, exc, tb)

    async def autostart(self, configs: list[FlockConfig]) -> None:
        """Start each flock in order; a failure is logged and remembered, the rest go on."""
        for config in configs:
            try:
                await self.start_flock(config)
            except Exception as exc:  # one bad flock must not stop the others
                error = f"{type(exc).__name__}: {exc}"
                self._logger.exception("Autostart of flock failed", flock=config.name)
                self.autostart_failures.append(AutostartFailure(name=config.name, error=error))

    async def start_flock(self, config: FlockConfig) -> Flock:
        """Start a flock, replacing (after stopping) any flock of the same name.

        The flock is listed while it starts; if its start fails it is stopped and removed and
        the exception propagates.
        """
        if self._task_group is None:
            raise RuntimeError("FlockManager used outside its async context")
        flock = Flock(
            config=config,
            builder=self._builder,
            identity=self._identity,
            task_group=self._task_group,
            replica_count=self._replica_count,
            replica_index=self._replica_index,
            logger=self._logger,
            stats=self.stats,
        )
        old = self._flocks.pop(config.name, None)
        if old is not None:
            self._logger.info("Replacing flock", flock=config.name)
            await old.stop()
        if self.stats is not None:
            self.stats.reset(config.name)
        self._flocks[config.name] = flock
        self.autostart_failures = [f for f in self.autostart_failures if f.name != config.name]
        try:
            await flock.start()
        except BaseException:
            if self._flocks.get(config.name) is flock:
                del self._flocks[config.name]
            await asyncio.shield(flock.stop())
            raise
        return flock

    def get_flock(self, name: str) -> Flock:
        """Return a flock.

        Raises
        ------
        FlockNotFoundError
            No flock of that name.
        """
        flock = self._flocks.get(name)
        if flock is None:
            raise FlockNotFoundError(name)
        return flock

    def list_flocks(self) -> list[str]:
        """Return the sorted names of the flocks."""
        return sorted(self._flocks)

    def summarize_flocks(self) -> list[FlockSummary]:
        """Return the summaries of every flock, sorted by name."""
        return [self._flocks[name].summary() for name in sorted(self._flocks)]

    async def stop_flock(self, name: str) -> None:
        """Stop a flock and remove it; returns when all its monkeys have stopped."""
        flock = self.get_flock(name)
        del self._flocks[name]
        await flock.stop()
        if self.stats is not None and name not in self._flocks:
            self.stats.reset(name)

    def refresh_flock(self, name: str) -> None:
        """Signal every monkey of a flock to refresh."""
        self.get_flock(name).signal_refresh()

    async def stop_all(self) -> None:
        """Stop every flock in parallel."""
        flocks = list(self._flocks.values())
        self._flocks.clear()
        if flocks:
            async with asyncio.TaskGroup() as tg:
                for flock in flocks:
                    tg.create_task(flock.stop())

"""FlockManager: owns every flock and the task group their monkeys run in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from structlog.typing import FilteringBoundLogger

from mobu.exceptions import (
    ClientRequestError,
    FlockNotFoundError,
    MobuError,
    ShuttingDownError,
)
from mobu.identity import IdentityProvider
from mobu.models.flock import MAX_MONKEYS, FlockConfig, FlockSummary
from mobu.models.user import MAX_ID
from mobu.services.builder import MonkeyBuilder
from mobu.services.flock import Flock
from mobu.services.stats import StatsCollector

__all__ = ["AutostartFailure", "FlockManager", "InvalidResizeError"]


class InvalidResizeError(ClientRequestError):
    """A flock cannot be resized to the count asked for (the message says why)."""

    error = "invalid_resize"
    status_code = 422

    def __init__(self, message: str) -> None:
        super().__init__(message, ("body", "count"))


@dataclass(slots=True)
class AutostartFailure:
    """A flock from the configuration that failed to start."""

    name: str
    error: str


@dataclass(slots=True)
class _NameSlot:
    """Serialises the requests (start, replace, stop) for one flock name."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    requests: int = 0
    """Requests holding or waiting for the lock that end a start in progress."""
    resizes: int = 0
    """Resizes holding or waiting for the lock (they let a start finish)."""


class FlockManager:
    """Starts, lists, summarises and stops flocks.

    Use as an async context manager: entering it opens the task group that owns every monkey
    task, leaving it stops every flock (each monkey within its stop grace) and closes the group.

    Starts, replacements and stops of one flock name run one at a time, in arrival order (other
    names are not held up); a request that has to wait ends the start in progress at its next
    step (see :meth:`Flock.end_start`). Every flock the manager created is kept until it has
    stopped, listed or not (a replaced flock, one whose start failed), so that :meth:`stop_all`
    stops every monkey the task group owns.
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
        self._live: set[Flock] = set()
        self._slots: dict[str, _NameSlot] = {}
        self._closing = False
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
            except ShuttingDownError:
                return
            except Exception as exc:  # one bad flock must not stop the others
                error = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, MobuError):  # an expected failure (a service down): one line
                    self._logger.error("Autostart of flock failed", flock=config.name, error=error)
                else:
                    self._logger.exception("Autostart of flock failed", flock=config.name)
                self.autostart_failures.append(AutostartFailure(name=config.name, error=error))

    async def start_flock(self, config: FlockConfig) -> Flock:
        """Start a flock, replacing (after stopping) any flock of the same name.

        The business is prepared first (type, options, collaborators), so a flock that cannot
        run fails before any user is authenticated and leaves the flock it would replace alone.
        The new flock is listed at once (while the one it replaces stops, then while it starts);
        if its start fails it is stopped and removed and the exception propagates.

        Raises
        ------
        UnknownBusinessError, InvalidOptionsError, MissingServiceError
            The business cannot run here.
        ShuttingDownError
            :meth:`stop_all` was called.
        """
        task_group = self._task_group
        if task_group is None:
            raise RuntimeError("FlockManager used outside its async context")
        name = config.name
        self._check_open(name)
        factory = self._builder.prepare(config.business, flock=name)
        async with self._exclusive(name) as slot:
            self._check_open(name)
            flock = Flock(
                config=config,
                factory=factory,
                identity=self._identity,
                task_group=task_group,
                replica_count=self._replica_count,
                replica_index=self._replica_index,
                logger=self._logger,
                stats=self.stats,
            )
            old = self._flocks.get(name)
            self._flocks[name] = flock
            self._live.add(flock)
            self.autostart_failures = [f for f in self.autostart_failures if f.name != name]
            try:
                if old is not None:
                    self._logger.info("Replacing flock", flock=name)
                    await self._stop(old)
                if self.stats is not None:
                    self.stats.reset(name)
                if slot.requests > 1:
                    flock.end_start()  # a later request for this name is already waiting
                await flock.start()
            except BaseException:
                if self._flocks.get(name) is flock:
                    del self._flocks[name]
                await asyncio.shield(self._stop(flock))
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
        """Stop a flock and remove it; returns when all its monkeys have stopped.

        Waits for the requests for this name that arrived before (a start in progress ends at
        its next step), then stops the flock they left.

        Raises
        ------
        FlockNotFoundError
            No flock of that name (when the request arrives, or once its turn comes).
        """
        self.get_flock(name)
        async with self._exclusive(name):
            flock = self._flocks.pop(name, None)
            if flock is None:
                raise FlockNotFoundError(name)
            await self._stop(flock)
            if self.stats is not None:
                self.stats.reset(name)

    async def resize_flock(self, name: str, count: int) -> Flock:
        """Grow or shrink a running flock to ``count`` monkeys, without restarting the others.

        Runs in turn with the other requests of this name (a start in progress finishes
        first); returns once the new monkeys are started and the removed ones have stopped.
        See :meth:`Flock.resize`.

        Raises
        ------
        FlockNotFoundError
            No flock of that name (when the request arrives, or once its turn comes).
        InvalidResizeError
            ``count`` is out of range, or more than the flock's explicit users.
        ShuttingDownError
            :meth:`stop_all` was called.
        """
        self.get_flock(name)
        self._check_open(name)
        async with self._exclusive(name, interrupt=False):
            self._check_open(name)
            flock = self._flocks.get(name)
            if flock is None:
                raise FlockNotFoundError(name)
            _check_count(flock, count)
            await flock.resize(count)
        return flock

    def refresh_flock(self, name: str) -> None:
        """Signal every monkey of a flock to refresh (also those its start builds later)."""
        self.get_flock(name).signal_refresh()

    async def stop_all(self) -> None:
        """Stop every flock the manager started, listed or not, in parallel; refuse new starts.

        A start in progress ends at its next step; a start still waiting for its turn raises
        :class:`ShuttingDownError`.
        """
        self._closing = True
        self._flocks.clear()
        while self._live:
            flocks = list(self._live)
            async with asyncio.TaskGroup() as tg:
                for flock in flocks:
                    tg.create_task(self._stop(flock))

    def _check_open(self, name: str) -> None:
        if self._closing:
            raise ShuttingDownError(name)

    async def _stop(self, flock: Flock) -> None:
        """Stop a flock (or wait for its stop) and forget it once stopped."""
        await flock.stop()
        self._live.discard(flock)

    @asynccontextmanager
    async def _exclusive(self, name: str, *, interrupt: bool = True) -> AsyncIterator[_NameSlot]:
        """Hold the lock of ``name``; unless ``interrupt`` is false, a start of that name in
        progress ends at its next step."""
        slot = self._slots.get(name)
        if slot is None:
            slot = self._slots[name] = _NameSlot()
        if interrupt:
            slot.requests += 1
        else:
            slot.resizes += 1
        try:
            current = self._flocks.get(name)
            if interrupt and current is not None and slot.lock.locked():
                current.end_start()
            async with slot.lock:
                yield slot
        finally:
            if interrupt:
                slot.requests -= 1
            else:
                slot.resizes -= 1
            if slot.requests == 0 and slot.resizes == 0:
                del self._slots[name]


def _check_count(flock: Flock, count: int) -> None:
    """Raise :class:`InvalidResizeError` if ``flock`` cannot have ``count`` monkeys."""
    if isinstance(count, bool) or not 1 <= count <= MAX_MONKEYS:
        raise InvalidResizeError(f"count must be an integer from 1 to {MAX_MONKEYS}")
    limit = flock.max_count
    if limit is not None and count > limit:
        raise InvalidResizeError(f"count must be at most {limit}, the number of the flock's users")
    spec = flock.config.user_spec
    if spec is not None:
        for key, start in (("uid_start", spec.uid_start), ("gid_start", spec.gid_start)):
            if start is not None and start + count - 1 > MAX_ID:
                raise InvalidResizeError(f"user_spec.{key} + count - 1 must be at most {MAX_ID}")

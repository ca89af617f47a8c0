"""ReplicaGroup: runs this replica's share of the desired flocks kept in the shared store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from structlog.typing import FilteringBoundLogger

from mobu.exceptions import FlockNotFoundError, MobuError, ShuttingDownError
from mobu.models.flock import FlockConfig
from mobu.replicas.config import ReplicasConfig
from mobu.replicas.errors import SharedStateUnavailableError
from mobu.replicas.listener import listen
from mobu.replicas.liveness import SilenceWatch
from mobu.replicas.store import CHANNEL, DesiredFlock, SharedState
from mobu.replicas.view import ReplicaReport, decode_state, encode_state, flock_report
from mobu.services.builder import MonkeyBuilder
from mobu.services.flock import Flock
from mobu.services.manager import AutostartFailure, FlockManager, InvalidResizeError

__all__ = ["ReplicaGroup"]

STORE_ERRORS = (SQLAlchemyError, OSError, TimeoutError)
"""What a store that is down or restarting raises."""


@dataclass(slots=True)
class _Applied:
    """What this replica asked its manager to run for one desired flock."""

    generation: int
    count: int
    refresh: int


class ReplicaGroup:
    """This replica's part of a group sharing desired state through PostgreSQL.

    Every change (a ``PUT``, ``DELETE``, ``PATCH`` or refresh sent to any replica) is written to
    the store, which notifies every replica; each reconciles its share (start or replace a
    flock whose generation changed, resize, refresh, stop a flock no longer desired) on the
    notification, after reconnecting, and every ``resync_interval``. Each replica heartbeats
    its report every ``heartbeat_interval``; the merged view (:mod:`mobu.replicas.service`)
    reads them. A store that is down changes nothing locally: the monkeys keep running, and the
    replica re-syncs once the store is back.
    """

    def __init__(
        self,
        *,
        state: SharedState,
        manager: FlockManager,
        builder: MonkeyBuilder,
        config: ReplicasConfig,
        replica_count: int,
        replica_index: int,
        logger: FilteringBoundLogger,
        post: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.manager = manager
        self.config = config
        self.replica_count = replica_count
        self.replica_index = replica_index
        self.url = config.advertise_url
        self._builder = builder
        self._logger = logger.bind(replica=replica_index)
        self._clock = clock
        self.started = clock()
        self.watch = SilenceWatch(replica_index, post or (lambda _message: None))
        self._applied: dict[str, _Applied] = {}
        self._actions: dict[str, asyncio.Task[None]] = {}
        self._owned: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._autostart: list[FlockConfig] | None = None
        self._down: set[str] = set()
        self._migrated = False

    # Lifecycle ----------------------------------------------------------------------------------

    async def start(self, autostart: Sequence[FlockConfig]) -> None:
        """Write the autostart flocks once for the group, reconcile, start the loops."""
        self._autostart = list(autostart)
        await self._sync()
        loops: list[Coroutine[Any, Any, None]] = [
            listen(
                self.state.dsn, CHANNEL, changed=self._wake.set,
                keepalive=self.config.resync_interval.total_seconds(), logger=self._logger,
            ),
            self._resync_loop(),
            self._heartbeat_loop(),
        ]  # fmt: skip
        self._loops = [asyncio.create_task(c, name="mobu-replicas") for c in loops]
        await self.beat()

    async def aclose(self) -> None:
        """Stop the loops and the actions in progress (the manager stops the flocks)."""
        tasks = [*self._loops, *self._owned]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(BaseException):
                await task
        await self.state.aclose()

    def announce(self, url: str) -> None:
        """The server's URL, advertised to the other replicas (unless one is configured)."""
        if self.url is None:
            self.url = url

    # Requests (from any replica's API) ---------------------------------------------------------

    async def put(self, config: FlockConfig) -> Flock:
        """Store a flock as desired for every replica; return once this replica started it."""
        self._builder.prepare(config.business, flock=config.name)  # bad input: before storing
        await self._write(self.state.put(config))
        await self._apply(config.name)
        return self.manager.get_flock(config.name)

    async def delete(self, name: str) -> None:
        """Stop a flock on every replica; returns once this replica stopped it."""
        if not await self._write(self.state.delete(name)):
            await self.manager.stop_flock(name)  # not shared (a CI flock): this replica's own
            return
        await self._apply(name)

    async def refresh(self, name: str) -> None:
        """Ask every replica's monkeys of a flock to refresh."""
        if not await self._write(self.state.refresh(name)):
            self.manager.refresh_flock(name)
            return
        await self._apply(name)

    async def resize(self, name: str, count: int) -> Flock:
        """Store a new count of a flock; returns once this replica resized its share."""
        want = (await self._read()).get(name)
        if want is None:
            return await self.manager.resize_flock(name, count)
        spec = want.spec
        update: dict[str, Any] = {"count": count}
        if spec.users is not None:
            if count > len(spec.users):
                message = (
                    f"count must be at most {len(spec.users)}, the number of the flock's users"
                )
                raise InvalidResizeError(message)
            update["users"] = spec.users[:count]
        try:
            resized = FlockConfig.model_validate({**spec.model_dump(), **update})
        except ValidationError as exc:
            raise InvalidResizeError(exc.errors()[0]["msg"]) from None
        await self._write(self.state.resize(resized))
        await self._apply(name)
        return self.manager.get_flock(name)

    async def desired(self) -> dict[str, DesiredFlock]:
        """The desired flocks (SharedStateUnavailableError when the store is down)."""
        return await self._read()

    async def _write[T](self, write: Coroutine[Any, Any, T]) -> T:
        try:
            return await write
        except STORE_ERRORS as exc:
            raise SharedStateUnavailableError(type(exc).__name__) from None

    async def _read(self) -> dict[str, DesiredFlock]:
        return await self._write(self.state.desired())

    async def _apply(self, name: str) -> None:
        """Reconcile now and wait for this replica's action on ``name`` (its error raises)."""
        await self._write(self._reconcile())
        task = self._actions.get(name)
        if task is not None:
            await asyncio.shield(task)

    # Reconciliation -----------------------------------------------------------------------------

    async def _sync(self) -> None:
        """Write a pending autostart, then reconcile; a store that is down is logged once."""
        try:
            if not self._migrated:
                await self.state.open()
                self._migrated = True
            if self._autostart is not None:
                written = await self.state.autostart(self._autostart)
                if written:
                    self._logger.info("Autostart flocks written for the group", flocks=written)
                self._autostart = None
            await self._reconcile()
        except STORE_ERRORS as exc:
            self._store_down("sync", exc)
        else:
            self._store_up("sync")

    async def _reconcile(self) -> None:
        """Compare the desired flocks with what this replica runs; start the actions needed."""
        async with self._lock:
            desired = await self.state.desired()
            for name, want in desired.items():
                have = self._applied.get(name)
                if have is None or have.generation != want.generation:
                    self._applied[name] = _Applied(want.generation, want.spec.count, want.refresh)
                    self._spawn(name, self._start(want))
                    continue
                if have.count != want.spec.count:
                    have.count = want.spec.count
                    self._spawn(name, self._resize(name, want.spec.count))
                if have.refresh != want.refresh:
                    have.refresh = want.refresh
                    with suppress(FlockNotFoundError):
                        self.manager.refresh_flock(name)
            for name in [n for n in self._applied if n not in desired]:
                del self._applied[name]
                self._spawn(name, self._stop(name))

    def _spawn(self, name: str, action: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(action, name=f"mobu-replica-{name}")
        self._actions[name] = task
        self._owned.add(task)
        task.add_done_callback(lambda t: self._done(name, t))

    def _done(self, name: str, task: asyncio.Task[None]) -> None:
        self._owned.discard(task)
        if self._actions.get(name) is task:
            del self._actions[name]
        if not task.cancelled():
            task.exception()  # retrieved here; a request waiting on it gets it too

    async def _start(self, want: DesiredFlock) -> None:
        try:
            await self.manager.start_flock(want.spec)
        except ShuttingDownError:
            return
        except Exception as exc:
            applied = self._applied.get(want.name)
            if applied is not None and applied.generation == want.generation:
                del self._applied[want.name]  # retried at the next resync
            error = f"{type(exc).__name__}: {exc}"
            self._logger.error("Start of shared flock failed", flock=want.name, error=error)
            if not isinstance(exc, MobuError):
                raise
            failures = self.manager.autostart_failures
            failures[:] = [f for f in failures if f.name != want.name]
            failures.append(AutostartFailure(name=want.name, error=error))
            raise

    async def _resize(self, name: str, count: int) -> None:
        with suppress(FlockNotFoundError, ShuttingDownError):
            await self.manager.resize_flock(name, count)

    async def _stop(self, name: str) -> None:
        with suppress(FlockNotFoundError):
            await self.manager.stop_flock(name)

    async def _resync_loop(self) -> None:
        interval = self.config.resync_interval.total_seconds()
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            await self._sync()

    # Heartbeats and liveness --------------------------------------------------------------------

    def report(self) -> ReplicaReport:
        """This replica's report, live."""
        flocks: dict[str, dict[str, Any]] = {}
        stats = self.manager.stats
        for name in self.manager.list_flocks():
            applied = self._applied.get(name)
            generation = None if applied is None else applied.generation
            flocks[name] = flock_report(self.manager.get_flock(name), generation, stats)
        failures = [{"name": f.name, "error": f.error} for f in self.manager.autostart_failures]
        return ReplicaReport(
            replica=self.replica_index, fresh=True, seen=self._clock(), url=self.url,
            flocks=flocks, autostart_failures=failures,
        )  # fmt: skip

    async def beat(self) -> None:
        """Write this replica's report, then check the others' (a store down: logged once)."""
        try:
            report = self.report()
            await self.state.beat(self.replica_index, self.url, self.started, encode_state(report))
            reports = await self.reports()
            desired = await self.state.desired()
        except STORE_ERRORS as exc:
            self._store_down("heartbeat", exc)
            return
        self._store_up("heartbeat")
        specs = {n: (d.spec, d.generation) for n, d in desired.items()}
        for text in self.watch.check(reports, specs):
            self._logger.warning("Replica liveness", message=text)

    async def reports(self) -> list[ReplicaReport]:
        """Every replica's last report, this one live; a silent one is marked not fresh."""
        now = self._clock()
        stale = self.config.stale_after.total_seconds()
        beats = {h.replica: h for h in await self.state.heartbeats()}
        reports: list[ReplicaReport] = []
        for index in range(self.replica_count):
            if index == self.replica_index:
                reports.append(self.report())
                continue
            beat = beats.get(index)
            if beat is None:
                fresh = now - self.started <= stale  # not yet: give it a window to start
                reports.append(ReplicaReport(replica=index, fresh=fresh))
                continue
            flocks, failures = decode_state(beat.state)
            reports.append(
                ReplicaReport(
                    replica=index, fresh=now - beat.seen <= stale, seen=beat.seen,
                    url=beat.url, flocks=flocks, autostart_failures=failures,
                )
            )  # fmt: skip
        return reports

    async def _heartbeat_loop(self) -> None:
        interval = self.config.heartbeat_interval.total_seconds()
        while True:
            await asyncio.sleep(interval)
            await self.beat()

    def _store_down(self, what: str, exc: BaseException) -> None:
        if what not in self._down:
            self._down.add(what)
            error = f"{type(exc).__name__}: {exc}"[:300]
            self._logger.warning(
                "Shared state unavailable; monkeys keep running", task=what, error=error
            )

    def _store_up(self, what: str) -> None:
        if what in self._down:
            self._down.discard(what)
            self._logger.info("Shared state available again", task=what)

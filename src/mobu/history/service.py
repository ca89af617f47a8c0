"""The history of the process: the recorder, its writer task, the store and the queries."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from structlog.typing import FilteringBoundLogger

from mobu.history.config import HistoryConfig
from mobu.history.errors import HistoryUnavailableError
from mobu.history.recorder import BucketRow, FailureRow, HistoryRecorder
from mobu.history.store import HOUR, HistoryStore, Retention
from mobu.models.history import HistoryStatus

__all__ = ["History"]

BATCH = 2000
"""Rows (and failures) per write."""


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500] if str(exc) else type(exc).__name__


class History:
    """History kept by the service, written in the background off the monkeys' path.

    The :attr:`recorder` receives events and failures (add it to the events fan-out and to the
    reporters). :meth:`start` opens the store (running the migrations) and starts the writer
    task, which every ``flush_interval`` writes the finished minutes and the failures, and every
    ``maintenance_interval`` rolls hours up and applies retention. A store that is down or slow
    makes the writer keep its rows (bounded, see :class:`HistoryRecorder`) and retry; it catches
    up when the store is back. :meth:`aclose` writes what is left within ``close_timeout``.
    The query side is in :mod:`mobu.history.reads` (:class:`HistoryReader`).

    Parameters
    ----------
    config
        The ``history:`` section.
    data_dir
        The service's data directory (home of the default SQLite store).
    logger
        Logger.
    log_prefix
        Path prefix of the API for links to monkey logs; None when monkey logs are not kept.
    clock
        Wall clock (injectable: tests and the benchmark compress time).
    """

    def __init__(
        self,
        config: HistoryConfig,
        *,
        data_dir: Path,
        logger: FilteringBoundLogger,
        log_prefix: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock = clock
        self._logger = logger.bind(component="history")
        self.recorder = HistoryRecorder(
            buffer_rows=config.buffer_rows, clock=clock, log_prefix=log_prefix
        )
        self.store = HistoryStore(config.store_url(data_dir))
        self.retention = Retention(
            retention=config.retention.total_seconds(),
            minutes_kept=config.minutes_kept.total_seconds(),
            max_rows=config.max_rows,
            max_failures=config.max_failures,
        )
        self.opened = False
        self.connected = False
        self.revision: str | None = None
        self.written_events = self.written_rows = self.written_failures = 0
        self.write_errors = 0
        self.last_error: str | None = None
        self._lock = asyncio.Lock()
        self._wakeup = asyncio.Event()
        self.closing = False
        self._task: asyncio.Task[None] | None = None
        self._last_maintenance = -float("inf")

    def cutoff(self, now: float) -> int:
        """Start of the oldest hour whose minute rows are kept."""
        return int((now - self.retention.minutes_kept) // HOUR) * HOUR

    async def start(self) -> None:
        """Open the store (a store that is down is retried by the writer) and start writing."""
        await self._open()
        if self.opened:
            self._logger.info(
                "History store open",
                store=self.store.display_url,
                path=None if self.store.path is None else str(self.store.path),
                revision=self.revision,
            )
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="history-writer")

    async def _open(self) -> None:
        if self.opened:
            return
        try:
            async with asyncio.timeout(self.config.write_timeout.total_seconds()):
                await self.store.open()
                self.revision = await self.store.revision()
        except Exception as exc:  # noqa: BLE001 - a store that is down must not stop mobu
            self._failed(exc, "History store cannot be opened; will retry")
            return
        self.opened = self.connected = True

    def _failed(self, exc: BaseException, message: str) -> None:
        self.connected = False
        self.last_error = _error(exc)
        self._logger.warning(message, error=self.last_error)

    async def _run(self) -> None:
        interval = self.config.flush_interval.total_seconds()
        maintenance = self.config.maintenance_interval.total_seconds()
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=interval)
            self._wakeup.clear()
            if self.closing:
                return
            written = await self.flush(everything=False)
            if written and loop.time() - self._last_maintenance >= maintenance:
                self._last_maintenance = loop.time()
                await self.maintain()

    async def flush(self, *, everything: bool = True) -> bool:
        """Write the finished minutes (all open ones too, by default) and the failures.

        Returns True when everything queued was written; False when the store failed (the
        rows wait for the next try, within the buffer's bound).
        """
        async with self._lock:
            await self._open()
            self.recorder.close_finished(everything=everything)
            if not self.opened:
                return False
            # What is queued now, not what monkeys add meanwhile: a flush always ends.
            remaining = self.recorder.queued_rows + self.recorder.queued_failures
            while remaining > 0:
                rows, failures = self.recorder.take(BATCH)
                if not rows and not failures:
                    break
                remaining -= len(rows) + len(failures)
                if not await self._write(rows, failures):
                    return False
            return True

    async def _write(self, rows: list[BucketRow], failures: list[FailureRow]) -> bool:
        try:
            async with asyncio.timeout(self.config.write_timeout.total_seconds()):
                await self.store.write(rows, failures)
        except BaseException as exc:
            self.recorder.restore(rows, failures)
            if not isinstance(exc, Exception):
                raise
            self.write_errors += 1
            self._failed(exc, "History write failed; rows kept for the next try")
            return False
        self.connected = True
        self.written_rows += len(rows)
        self.written_events += sum(r.tally.count for r in rows)
        self.written_failures += len(failures)
        return True

    async def maintain(self, now: float | None = None) -> dict[str, int]:
        """Roll finished hours up and apply retention and bounds (logged; never raises)."""
        async with self._lock:
            if not self.opened:
                return {}
            try:
                done = await self.store.maintain(
                    self.clock() if now is None else now, self.retention
                )
            except Exception as exc:  # noqa: BLE001 - retried at the next interval
                self._failed(exc, "History maintenance failed")
                return {}
        if any(done.values()):
            self._logger.info("History maintenance", **done)
        return done

    async def aclose(self) -> None:
        """Stop the writer, write what is left within ``close_timeout``, close the store."""
        self.closing = True
        self._wakeup.set()
        task = self._task
        if task is not None:
            await asyncio.wait({task})
        try:
            async with asyncio.timeout(self.config.close_timeout.total_seconds()):
                await self.flush(everything=True)
        except TimeoutError:
            self._logger.warning("History: final write did not finish in time")
        lost = self.recorder.queued_rows + self.recorder.queued_failures
        if lost:
            self._logger.warning("History rows not written at shutdown", rows=lost)
        await self.store.aclose()

    def require_open(self) -> None:
        """Raise :class:`HistoryUnavailableError` unless the store is open."""
        if not self.opened:
            raise HistoryUnavailableError(self.last_error or "not open yet")

    def status(self) -> HistoryStatus:
        """Counters of the writer and where the store is."""
        recorder = self.recorder
        return HistoryStatus(
            enabled=True,
            store=self.store.display_url,
            path=None if self.store.path is None else str(self.store.path),
            connected=self.connected,
            schema_revision=self.revision,
            seen_events=recorder.seen_events,
            written_events=self.written_events,
            written_rows=self.written_rows,
            written_failures=self.written_failures,
            dropped_events=recorder.dropped_events,
            dropped_rows=recorder.dropped_rows,
            dropped_failures=recorder.dropped_failures,
            queued_rows=recorder.queued_rows,
            queued_failures=recorder.queued_failures,
            write_errors=self.write_errors,
            last_error=self.last_error,
            size_bytes=self.store.size_bytes(),
        )

    def collect(self) -> Iterator[Metric]:
        """Prometheus metrics of the writer (register this object on a registry)."""
        events = CounterMetricFamily(
            "mobu_history_events", "Events by history outcome", labels=["outcome"]
        )
        events.add_metric(["written"], self.written_events)
        events.add_metric(["dropped"], self.recorder.dropped_events)
        yield events
        failures = CounterMetricFamily(
            "mobu_history_failures", "Failure-log entries by outcome", labels=["outcome"]
        )
        failures.add_metric(["written"], self.written_failures)
        failures.add_metric(["dropped"], self.recorder.dropped_failures)
        yield failures
        yield CounterMetricFamily(
            "mobu_history_write_errors", "History writes that failed", value=self.write_errors
        )
        queued = GaugeMetricFamily("mobu_history_queued", "Rows waiting to be written")
        queued.add_metric([], self.recorder.queued_rows + self.recorder.queued_failures)
        yield queued

"""A bounded, non-blocking queue in front of a sink backend that does I/O."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from datetime import timedelta
from typing import Any, Protocol

from structlog.typing import FilteringBoundLogger

from mobu.events import EventBase
from mobu.sinks.record import event_record

__all__ = ["QueuedSink", "RateLimitedWarning", "SinkBackend"]


class SinkBackend(Protocol):
    """Writes batches of exported events somewhere (file, Kafka, memory)."""

    name: str

    async def write(self, records: list[dict[str, Any]]) -> None:
        """Write one batch; raise if it could not be written."""

    async def aclose(self) -> None:
        """Release resources."""


class RateLimitedWarning:
    """Logs a warning at most once per ``interval``, with how many occurrences it stands for."""

    def __init__(self, logger: FilteringBoundLogger, message: str, interval: timedelta) -> None:
        self._logger = logger
        self._message = message
        self._interval = interval.total_seconds()
        self._last = -float("inf")
        self._pending = 0

    def __call__(self, count: int = 1, **data: Any) -> None:
        """Count ``count`` occurrences; log if the interval has passed since the last log."""
        self._pending += count
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._logger.warning(self._message, occurrences=self._pending, **data)
            self._last = now
            self._pending = 0


class QueuedSink:
    """An :class:`~mobu.events.EventSink` that never blocks: events wait in a bounded queue.

    ``publish`` only appends to the queue (or counts a drop when it is full); a task writes
    batches to the backend. A backend that fails loses its batch (counted as ``error`` drops);
    one that hangs is bounded by ``write_timeout``. Drops are logged at most once a minute.

    Parameters
    ----------
    backend
        Where events are written.
    app_name
        ``app_name`` field of exported events.
    queue_size
        Maximum events waiting.
    batch_size
        Maximum events per write.
    logger
        Logger for drop warnings.
    write_timeout
        Longest a single write may take.
    drain_timeout
        Longest :meth:`aclose` waits for the queue to drain before abandoning it.
    """

    def __init__(
        self,
        backend: SinkBackend,
        *,
        app_name: str = "mobu",
        queue_size: int = 10_000,
        batch_size: int = 500,
        logger: FilteringBoundLogger,
        write_timeout: timedelta = timedelta(seconds=30),
        drain_timeout: timedelta = timedelta(seconds=5),
        log_interval: timedelta = timedelta(minutes=1),
    ) -> None:
        self.backend = backend
        self.name = backend.name
        self.app_name = app_name
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.dropped: dict[str, int] = {"full": 0, "error": 0}
        self.written = 0
        self._queue: deque[tuple[str, EventBase, int]] = deque()
        self._logger = logger.bind(sink=backend.name)
        self._write_timeout = write_timeout.total_seconds()
        self._drain_timeout = drain_timeout.total_seconds()
        self._warn = RateLimitedWarning(self._logger, "Events dropped", log_interval)
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._idle: asyncio.Event | None = None

    @property
    def queued(self) -> int:
        """Events waiting to be written."""
        return len(self._queue)

    def publish(self, name: str, payload: EventBase) -> None:
        """Queue one event; drop it (counted) if the queue is full or the sink closed."""
        if self._closing or len(self._queue) >= self.queue_size:
            self._drop("full", 1)
            return
        self._queue.append((name, payload, time.time_ns()))
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.is_set():
            wakeup.set()

    def start(self) -> None:
        """Start the writer task (in the running loop)."""
        if self._task is None:
            self._wakeup = asyncio.Event()
            self._idle = asyncio.Event()
            if self._queue:
                self._wakeup.set()
            self._task = asyncio.create_task(self._run(), name=f"event-sink:{self.name}")

    async def flush(self) -> None:
        """Wait until every event queued so far was written or dropped."""
        if self._task is None or self._idle is None:
            return
        while self._queue or not self._idle.is_set():
            self._idle.clear()
            if self._wakeup is not None:
                self._wakeup.set()
            await self._idle.wait()

    async def aclose(self) -> None:
        """Stop accepting events, write what is queued (bounded), then close the backend."""
        self._closing = True
        task = self._task
        if task is not None and not task.done():
            assert self._wakeup is not None
            self._wakeup.set()
            done, _ = await asyncio.wait({task}, timeout=self._drain_timeout)
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=self._drain_timeout)
        if self._queue:
            self._drop("full", len(self._queue))
            self._queue.clear()
        try:
            async with asyncio.timeout(self._drain_timeout):
                await self.backend.aclose()
        except Exception as exc:  # noqa: BLE001 - closing must finish
            self._logger.warning("Closing event sink failed", error=f"{type(exc).__name__}: {exc}")

    async def _run(self) -> None:
        assert self._wakeup is not None
        assert self._idle is not None
        queue = self._queue
        while True:
            if not queue:
                self._idle.set()
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            self._idle.clear()
            count = min(len(queue), self.batch_size)
            batch = [queue.popleft() for _ in range(count)]
            try:
                records = [event_record(n, p, self.app_name, ts) for n, p, ts in batch]
                async with asyncio.timeout(self._write_timeout):
                    await self.backend.write(records)
            except asyncio.CancelledError:
                self._drop("error", count)
                raise
            except Exception as exc:  # noqa: BLE001 - a failing sink must not stop the writer
                self._drop("error", count, exc)
            else:
                self.written += count

    def _drop(self, reason: str, count: int, exc: BaseException | None = None) -> None:
        self.dropped[reason] += count
        if exc is not None:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._warn(count, reason=reason, error=error, total_dropped=self.dropped[reason])
        else:
            self._warn(count, reason=reason, total_dropped=self.dropped[reason])

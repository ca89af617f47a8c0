"""A bounded, non-blocking queue in front of a sink backend that does I/O."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, NamedTuple, Protocol

from structlog.typing import FilteringBoundLogger

from mobu.events import EventBase
from mobu.sinks.record import event_record

__all__ = [
    "EventBackend",
    "QueuedEvent",
    "QueuedSink",
    "QueuedWriter",
    "RateLimitedWarning",
    "SinkBackend",
]


class SinkBackend(Protocol):
    """Writes batches of exported events somewhere (file, Kafka, memory)."""

    name: str

    async def write(self, records: list[dict[str, Any]]) -> None:
        """Write one batch; raise if it could not be written."""

    async def aclose(self) -> None:
        """Release resources."""


class QueuedEvent(NamedTuple):
    """One event as it waited in a queue: its name, its payload, when it was published."""

    name: str
    payload: EventBase
    time_ns: int


class EventBackend(Protocol):
    """A backend that takes the events themselves (typed payloads), not exported records."""

    name: str

    async def write_events(self, events: list[QueuedEvent]) -> None:
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


class QueuedWriter[ItemT]:
    """A bounded queue and the one task that hands its items, in batches, to ``write``.

    :meth:`put` never blocks: it appends (or counts a drop when the queue is full or closed). A
    ``write`` that raises loses its batch (counted as ``error`` drops); one that hangs is bounded
    by ``write_timeout``. :meth:`aclose` drains within ``drain_timeout`` and counts what is left.
    The queued sinks and the Slack transport share it.

    Parameters
    ----------
    write
        Writes one batch; called by the writer task only, one batch at a time.
    name
        Name of the writer task.
    on_drop
        Called with the reason (``full``, ``error``), the count and the error, if any, of
        every drop.
    """

    def __init__(
        self,
        write: Callable[[list[ItemT]], Awaitable[None]],
        *,
        name: str,
        on_drop: Callable[[str, int, BaseException | None], None],
        queue_size: int,
        batch_size: int,
        write_timeout: timedelta,
        drain_timeout: timedelta,
    ) -> None:
        self.name = name
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.dropped: dict[str, int] = {"full": 0, "error": 0}
        self.written = 0
        self.closing = False
        self._write = write
        self._on_drop = on_drop
        self._queue: deque[ItemT] = deque()
        self._write_timeout = write_timeout.total_seconds()
        self._drain_timeout = drain_timeout.total_seconds()
        self._wakeup: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        """Items waiting to be written."""
        return len(self._queue)

    def put(self, item: ItemT) -> bool:
        """Queue one item; False if it was dropped (queue full, or the writer closing)."""
        if self.closing or len(self._queue) >= self.queue_size:
            self._drop("full", 1)
            return False
        self._queue.append(item)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.is_set():
            wakeup.set()
        return True

    def start(self) -> None:
        """Start the writer task (in the running loop)."""
        if self._task is None:
            self._wakeup = asyncio.Event()
            self._idle = asyncio.Event()
            if self._queue:
                self._wakeup.set()
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def flush(self) -> None:
        """Wait until every item queued so far was written or dropped."""
        if self._task is None or self._idle is None:
            return
        while self._queue or not self._idle.is_set():
            self._idle.clear()
            if self._wakeup is not None:
                self._wakeup.set()
            await self._idle.wait()

    async def aclose(self) -> None:
        """Accept nothing more; write what is queued within ``drain_timeout``, drop the rest."""
        self.closing = True
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

    async def _run(self) -> None:
        assert self._wakeup is not None
        assert self._idle is not None
        queue = self._queue
        while True:
            if not queue:
                self._idle.set()
                if self.closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            self._idle.clear()
            count = min(len(queue), self.batch_size)
            batch = [queue.popleft() for _ in range(count)]
            try:
                async with asyncio.timeout(self._write_timeout):
                    await self._write(batch)
            except asyncio.CancelledError:
                self._drop("error", count)
                raise
            except Exception as exc:  # noqa: BLE001 - a failing write must not stop the writer
                self._drop("error", count, exc)
            else:
                self.written += count

    def _drop(self, reason: str, count: int, exc: BaseException | None = None) -> None:
        self.dropped[reason] += count
        self._on_drop(reason, count, exc)


class QueuedSink:
    """An :class:`~mobu.events.EventSink` that never blocks: events wait in a bounded queue.

    ``publish`` only appends to the queue (or counts a drop when it is full); a task writes
    batches to the backend (a :class:`QueuedWriter`). A backend that fails loses its batch
    (counted as ``error`` drops); one that hangs is bounded by ``write_timeout``. Drops are
    logged at most once a minute.

    Parameters
    ----------
    backend
        Where events are written: a :class:`SinkBackend` gets exported records
        (:func:`~mobu.sinks.record.event_record`), an :class:`EventBackend` the events.
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
        backend: SinkBackend | EventBackend,
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
        self._logger = logger.bind(sink=backend.name)
        self._drain_timeout = drain_timeout.total_seconds()
        self._warn = RateLimitedWarning(self._logger, "Events dropped", log_interval)
        self._writer: QueuedWriter[QueuedEvent] = QueuedWriter(
            self._write,
            name=f"event-sink:{self.name}",
            on_drop=self._dropped,
            queue_size=queue_size,
            batch_size=batch_size,
            write_timeout=write_timeout,
            drain_timeout=drain_timeout,
        )

    @property
    def queue_size(self) -> int:
        """Maximum events waiting."""
        return self._writer.queue_size

    @property
    def batch_size(self) -> int:
        """Maximum events per write."""
        return self._writer.batch_size

    @property
    def dropped(self) -> dict[str, int]:
        """Events dropped, by reason (``full``, ``error``)."""
        return self._writer.dropped

    @property
    def written(self) -> int:
        """Events written."""
        return self._writer.written

    @property
    def queued(self) -> int:
        """Events waiting to be written."""
        return self._writer.queued

    def publish(self, name: str, payload: EventBase) -> None:
        """Queue one event; drop it (counted) if the queue is full or the sink closed."""
        self._writer.put(QueuedEvent(name, payload, time.time_ns()))

    def start(self) -> None:
        """Start the writer task (in the running loop)."""
        self._writer.start()

    async def flush(self) -> None:
        """Wait until every event queued so far was written or dropped."""
        await self._writer.flush()

    async def aclose(self) -> None:
        """Stop accepting events, write what is queued (bounded), then close the backend."""
        await self._writer.aclose()
        try:
            async with asyncio.timeout(self._drain_timeout):
                await self.backend.aclose()
        except Exception as exc:  # noqa: BLE001 - closing must finish
            self._logger.warning("Closing event sink failed", error=f"{type(exc).__name__}: {exc}")

    async def _write(self, batch: list[QueuedEvent]) -> None:
        backend = self.backend
        if hasattr(backend, "write_events"):
            await backend.write_events(batch)
            return
        records = [event_record(n, p, self.app_name, ts) for n, p, ts in batch]
        await backend.write(records)

    def _dropped(self, reason: str, count: int, exc: BaseException | None) -> None:
        total = self.dropped[reason]
        if exc is not None:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._warn(count, reason=reason, error=error, total_dropped=total)
        else:
            self._warn(count, reason=reason, total_dropped=total)

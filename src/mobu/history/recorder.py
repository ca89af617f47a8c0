"""What the monkeys did, gathered in memory until the writer stores it.

:class:`HistoryRecorder` is an :class:`~mobu.events.EventSink` and a
:class:`~mobu.alerts.reporting.FailureReporter`. On the monkeys' path it only adds to the open
minute of the event's flock and event type (a :class:`~mobu.services.stats.Tally`) or appends a
failure: no I/O, no waiting. The writer task takes the finished minutes and the failures in
batches (:meth:`take`) and gives back a batch it could not store (:meth:`restore`). Everything
waiting is bounded by ``buffer_rows``: beyond it the oldest rows go, counted in
``dropped_events``, ``dropped_rows`` and ``dropped_failures``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from mobu.alerts.reporting import FailureReport
from mobu.events import EventBase
from mobu.redaction import redact_text, strip_ansi
from mobu.services.stats import Tally

__all__ = ["BucketRow", "FailureRow", "HistoryRecorder"]

MINUTE = 60

RELATIVE_ERROR = 0.02
"""Relative error of the history's histograms: quantiles within 2 % (the live statistics keep
0.5 %); a quarter of the buckets, so stored rows stay small and long ranges merge fast."""

_STEP_KEYS = ("notebook", "cell", "cell_id", "query_id", "query", "step", "phase")
"""Context keys of a business error that say which step failed, in the order shown."""


@dataclass(slots=True)
class BucketRow:
    """One time bucket of a flock's event type, as written to (or read from) the store."""

    flock: str
    event: str
    business: str
    start: int
    tally: Tally
    monkeys: int
    resolution: int = MINUTE
    quantiles: tuple[float, ...] | None = None
    """p50, p90, p95, p99 and max of ``tally`` as stored with it (empty: no durations; None:
    not known); read, never kept up to date, so only for a row nobody merged into."""


@dataclass(slots=True)
class FailureRow:
    """One entry of the failure log."""

    time: float
    flock: str
    monkey: str
    business: str
    error_type: str
    message: str
    step: str | None = None
    log_path: str | None = None


@dataclass(slots=True)
class _Open:
    flock: str
    event: str
    business: str
    start: int
    tally: Tally
    monkeys: set[str] = field(default_factory=set)

    def row(self) -> BucketRow:
        return BucketRow(
            self.flock, self.event, self.business, self.start, self.tally, len(self.monkeys)
        )


def _seconds(duration: object) -> float | None:
    if isinstance(duration, timedelta):
        return duration.total_seconds()
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        return float(duration)
    return None


class HistoryRecorder:
    """Aggregates events per flock, event type and minute; keeps failures; never blocks.

    Parameters
    ----------
    buffer_rows
        Most finished rows plus failures waiting to be written.
    clock
        Wall clock in seconds since the epoch (injectable: tests and the benchmark compress
        time).
    log_prefix
        Path prefix of the API, for the link to a failing monkey's log; None when monkey logs
        are not kept.
    """

    def __init__(
        self,
        *,
        buffer_rows: int,
        clock: Callable[[], float] = time.time,
        log_prefix: str | None = None,
        relative_error: float = RELATIVE_ERROR,
    ) -> None:
        self.buffer_rows = buffer_rows
        self.clock = clock
        self._log_prefix = log_prefix
        self._relative_error = relative_error
        self._open: dict[tuple[str, str], _Open] = {}
        self._rows: deque[BucketRow] = deque()
        self._failures: deque[FailureRow] = deque()
        self.seen_events = 0
        self.seen_failures = 0
        self.dropped_events = 0
        self.dropped_rows = 0
        self.dropped_failures = 0

    @property
    def queued_rows(self) -> int:
        """Finished rows waiting to be written."""
        return len(self._rows)

    @property
    def queued_failures(self) -> int:
        """Failures waiting to be written."""
        return len(self._failures)

    def publish(self, name: str, payload: EventBase) -> None:
        """Add one event of a flock to its open minute (solitary events are not kept)."""
        flock = payload.flock
        if flock is None:
            return
        # Fields live in __dict__; getattr() of an absent field takes pydantic's slow path.
        fields = payload.__dict__
        start = int(self.clock() // MINUTE) * MINUTE
        key = (flock, name)
        current = self._open.get(key)
        if current is None or current.start != start:
            if current is not None:
                self._append(current.row())
            current = _Open(flock, name, payload.business, start, Tally(self._relative_error))
            self._open[key] = current
        current.tally.add(fields.get("success"), _seconds(fields.get("duration")))
        current.monkeys.add(payload.username)
        self.seen_events += 1

    def failure(self, report: FailureReport) -> None:
        """Keep one monkey failure (redacted) for the failure log."""
        if report.flock is None:
            return
        secrets = report.secrets
        error = report.error
        message = redact_text(strip_ansi(str(error)), secrets)[:4000]
        parts = [f"{key}={report.context[key]}" for key in _STEP_KEYS if key in report.context]
        step = redact_text(strip_ansi("; ".join(parts)), secrets)[:1000] if parts else None
        log_path = None
        if self._log_prefix is not None:
            log_path = f"{self._log_prefix}/flocks/{report.flock}/monkeys/{report.monkey}/log"
        self.seen_failures += 1
        self._failures.append(
            FailureRow(
                time=self.clock(),
                flock=report.flock,
                monkey=report.monkey,
                business=report.business,
                error_type=type(error).__name__,
                message=message,
                step=step,
                log_path=log_path,
            )
        )
        self._bound()

    def close_finished(self, *, everything: bool = False) -> None:
        """Move every open minute that has ended (or, with ``everything``, all) to the queue."""
        current = int(self.clock() // MINUTE) * MINUTE
        for key, open_row in list(self._open.items()):
            if everything or open_row.start < current:
                del self._open[key]
                self._append(open_row.row())

    def take(self, limit: int) -> tuple[list[BucketRow], list[FailureRow]]:
        """Remove and return up to ``limit`` queued rows and up to ``limit`` failures."""
        rows = [self._rows.popleft() for _ in range(min(limit, len(self._rows)))]
        failures = [self._failures.popleft() for _ in range(min(limit, len(self._failures)))]
        return rows, failures

    def restore(self, rows: list[BucketRow], failures: list[FailureRow]) -> None:
        """Put back a batch that could not be written, ahead of what came since."""
        self._rows.extendleft(reversed(rows))
        self._failures.extendleft(reversed(failures))
        self._bound()

    def unwritten(self, flock: str) -> list[BucketRow]:
        """Rows of ``flock`` not handed to the writer yet: open minutes and queued rows."""
        rows = [r for r in self._rows if r.flock == flock]
        rows.extend(o.row() for o in self._open.values() if o.flock == flock)
        return rows

    def unwritten_failures(self, flock: str | None) -> list[FailureRow]:
        """Failures (of ``flock``, or all) not handed to the writer yet, oldest first."""
        return [f for f in self._failures if flock is None or f.flock == flock]

    def unwritten_flocks(self) -> dict[str, str]:
        """Flocks with rows not handed to the writer yet, with their business."""
        flocks = {r.flock: r.business for r in self._rows}
        flocks.update((o.flock, o.business) for o in self._open.values())
        return flocks

    def _append(self, row: BucketRow) -> None:
        self._rows.append(row)
        self._bound()

    def _bound(self) -> None:
        """Drop the oldest rows (then failures) beyond ``buffer_rows``, counting them."""
        excess = len(self._rows) + len(self._failures) - self.buffer_rows
        while excess > 0 and self._rows:
            row = self._rows.popleft()
            self.dropped_rows += 1
            self.dropped_events += row.tally.count
            excess -= 1
        while excess > 0 and self._failures:
            self._failures.popleft()
            self.dropped_failures += 1
            excess -= 1

"""Latency statistics with bounded memory, per flock and event type.

:class:`StatsCollector` is an :class:`~mobu.events.EventSink`: it reads ``success`` and
``duration`` from every event that has them and keeps, per flock and event name, the totals of
the whole run and of a sliding window (default 5 minutes, in 10 slots), in
:class:`~mobu.services.histogram.LogHistogram` histograms.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mobu.events import EventBase
from mobu.models.stats import EventStatistics, LatencySummary
from mobu.services.histogram import QUANTILES, LogHistogram

__all__ = ["QUANTILES", "LogHistogram", "StatsCollector", "Tally", "WindowedTally"]


class Tally:
    """Count, failures and duration histogram of one kind of event."""

    __slots__ = ("count", "durations", "failures")

    def __init__(self, relative_error: float = 0.005) -> None:
        self.count = 0
        self.failures = 0
        self.durations = LogHistogram(relative_error)

    def add(self, success: bool | None, seconds: float | None) -> None:
        """Record one event."""
        self.count += 1
        if success is False:
            self.failures += 1
        if seconds is not None:
            self.durations.add(seconds)

    def merge(self, other: Tally) -> None:
        """Add ``other`` into this tally."""
        self.count += other.count
        self.failures += other.failures
        self.durations.merge(other.durations)

    def summary(self) -> LatencySummary:
        """Return count, failures and latency percentiles (seconds)."""
        durations = self.durations
        if durations.count == 0:
            return LatencySummary(count=self.count, failures=self.failures)
        p50, p90, p95, p99 = durations.quantiles(QUANTILES)
        return LatencySummary(
            count=self.count,
            failures=self.failures,
            p50=p50,
            p90=p90,
            p95=p95,
            p99=p99,
            max=durations.max,
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialise for merging elsewhere."""
        return {
            "count": self.count,
            "failures": self.failures,
            "durations": self.durations.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tally:
        """Rebuild a tally serialised by :meth:`to_dict`."""
        durations = LogHistogram.from_dict(data["durations"])
        tally = cls(durations.relative_error)
        tally.count = int(data["count"])
        tally.failures = int(data["failures"])
        tally.durations = durations
        return tally


class WindowedTally:
    """A tally of the last ``window``, kept in ``slots`` rotating sub-tallies.

    Memory is ``slots`` tallies whatever the rate. The window reported covers between
    ``window - window/slots`` and ``window`` of the most recent time.

    Parameters
    ----------
    window
        Length of the sliding window.
    slots
        Number of sub-intervals.
    clock
        Monotonic clock in seconds (injectable for tests).
    """

    __slots__ = (
        "_clock",
        "_current",
        "_current_start",
        "_relative_error",
        "_slot_length",
        "_slots",
        "_slots_max",
    )

    def __init__(
        self,
        window: timedelta = timedelta(minutes=5),
        *,
        slots: int = 10,
        clock: Callable[[], float] = time.monotonic,
        relative_error: float = 0.005,
    ) -> None:
        if slots < 1 or window.total_seconds() <= 0:
            raise ValueError("window and slots must be positive")
        self._slot_length = window.total_seconds() / slots
        self._clock = clock
        self._relative_error = relative_error
        self._slots: list[tuple[float, Tally]] = []
        self._current = Tally(relative_error)
        self._current_start = self._slot_start(clock())
        self._slots_max = slots

    def _slot_start(self, now: float) -> float:
        return math.floor(now / self._slot_length) * self._slot_length

    def _rotate(self, now: float) -> None:
        start = self._slot_start(now)
        if start != self._current_start:
            if self._current.count:
                self._slots.append((self._current_start, self._current))
            self._current = Tally(self._relative_error)
            self._current_start = start
            oldest = start - (self._slots_max - 1) * self._slot_length
            self._slots = [(s, t) for s, t in self._slots if s >= oldest]

    def add(self, success: bool | None, seconds: float | None) -> None:
        """Record one event now."""
        now = self._clock()
        if now - self._current_start >= self._slot_length:
            self._rotate(now)
        self._current.add(success, seconds)

    def snapshot(self) -> Tally:
        """Return a merged tally of the window."""
        self._rotate(self._clock())
        merged = Tally(self._relative_error)
        for _, tally in self._slots:
            merged.merge(tally)
        merged.merge(self._current)
        return merged


@dataclass(slots=True)
class _EventStats:
    total: Tally
    window: WindowedTally


class StatsCollector:
    """Event sink keeping latency statistics per flock and event name.

    Parameters
    ----------
    window
        Length of the sliding window.
    relative_error
        Relative error of the histograms.
    clock
        Monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        *,
        window: timedelta = timedelta(minutes=5),
        relative_error: float = 0.005,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self._relative_error = relative_error
        self._clock = clock
        self._flocks: dict[str, dict[str, _EventStats]] = {}

    def publish(self, name: str, payload: EventBase) -> None:
        """Record an event of a flock (solitary events are not kept)."""
        flock = payload.flock
        if flock is None:
            return
        events = self._flocks.get(flock)
        if events is None:
            events = self._flocks[flock] = {}
        stats = events.get(name)
        if stats is None:
            stats = events[name] = _EventStats(
                Tally(self._relative_error),
                WindowedTally(self.window, clock=self._clock, relative_error=self._relative_error),
            )
        # Fields live in __dict__; getattr() of an absent field takes pydantic's slow error path.
        success = payload.__dict__.get("success", None)
        duration = payload.__dict__.get("duration", None)
        if isinstance(duration, timedelta):
            seconds: float | None = duration.total_seconds()
        elif isinstance(duration, int | float) and not isinstance(duration, bool):
            seconds = float(duration)
        else:
            seconds = None
        stats.total.add(success, seconds)
        stats.window.add(success, seconds)

    def reset(self, flock: str) -> None:
        """Forget the statistics of a flock (it was stopped or replaced)."""
        self._flocks.pop(flock, None)

    def flock_statistics(self, flock: str) -> list[EventStatistics]:
        """Return the statistics of one flock, by event name."""
        events = self._flocks.get(flock, {})
        return [
            EventStatistics(
                event=name,
                total=stats.total.summary(),
                window=stats.window.snapshot().summary(),
                window_seconds=self.window.total_seconds(),
            )
            for name, stats in sorted(events.items())
        ]

    def export(self, flock: str, *, window: bool = False) -> dict[str, dict[str, Any]]:
        """Serialise the whole-run tallies (or the window's) of a flock, to merge with others'."""
        events = self._flocks.get(flock, {}).items()
        return {n: (s.window.snapshot() if window else s.total).to_dict() for n, s in events}

    @staticmethod
    def merge_exports(exports: Iterable[dict[str, dict[str, Any]]]) -> dict[str, LatencySummary]:
        """Merge exports of several replicas and summarise them per event name."""
        merged: dict[str, Tally] = {}
        for export in exports:
            for name, data in export.items():
                tally = Tally.from_dict(data)
                if name in merged:
                    merged[name].merge(tally)
                else:
                    merged[name] = tally
        return {name: tally.summary() for name, tally in sorted(merged.items())}

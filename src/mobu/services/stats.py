"""Latency statistics with bounded memory: log-bucketed histograms, per flock and event type.

A :class:`LogHistogram` keeps counts in logarithmic buckets whose width is chosen so that any
quantile it reports is within ``relative_error`` (default 0.5 %) of the true value at that rank.
Buckets cover 1 µs to 1 day (about 2,500 possible buckets, allocated sparsely), so memory is
bounded however long a flock runs. Histograms merge by adding bucket counts, and serialise to
plain dicts, so monkeys, flocks and replicas can be combined.

:class:`StatsCollector` is an :class:`~mobu.events.EventSink`: it reads ``success`` and
``duration`` from every event that has them and keeps, per flock and event name, the totals of
the whole run and of a sliding window (default 5 minutes, in 10 slots).
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

__all__ = ["LogHistogram", "StatsCollector", "Tally", "WindowedTally"]

MIN_VALUE = 1e-6
"""Smallest distinguished value (seconds); smaller values share the lowest bucket."""

MAX_VALUE = 86_400.0
"""Largest distinguished value (seconds); larger values share the highest bucket."""

QUANTILES = (0.5, 0.9, 0.95, 0.99)


class LogHistogram:
    """A mergeable histogram of positive values with bounded relative error.

    Parameters
    ----------
    relative_error
        Maximum relative error of a reported quantile (0.005 = 0.5 %).
    """

    __slots__ = (
        "_buckets",
        "_highest",
        "_inv_log_gamma",
        "_lowest",
        "count",
        "gamma",
        "max",
        "min",
        "relative_error",
        "sum",
    )

    def __init__(self, relative_error: float = 0.005) -> None:
        if not 0 < relative_error < 0.5:
            raise ValueError("relative_error must be between 0 and 0.5")
        self.relative_error = relative_error
        self.gamma = (1 + relative_error) / (1 - relative_error)
        self._inv_log_gamma = 1.0 / math.log(self.gamma)
        self._lowest = math.floor(math.log(MIN_VALUE) * self._inv_log_gamma)
        self._highest = math.ceil(math.log(MAX_VALUE) * self._inv_log_gamma)
        self._buckets: dict[int, int] = {}
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = 0.0

    @property
    def max_buckets(self) -> int:
        """Upper bound of the number of buckets this histogram can ever hold."""
        return self._highest - self._lowest + 1

    @property
    def bucket_count(self) -> int:
        """Number of buckets in use."""
        return len(self._buckets)

    def add(self, value: float) -> None:
        """Record one value (seconds); values below 1 µs count as 1 µs."""
        if value < MIN_VALUE:
            index = self._lowest
        elif value > MAX_VALUE:
            index = self._highest
        else:
            index = math.ceil(math.log(value) * self._inv_log_gamma)
        buckets = self._buckets
        buckets[index] = buckets.get(index, 0) + 1
        self.count += 1
        self.sum += value
        if value > self.max:
            self.max = value
        if value < self.min:
            self.min = value

    def merge(self, other: LogHistogram) -> None:
        """Add every value of ``other`` (which must have the same relative error)."""
        if other.gamma != self.gamma:
            raise ValueError("cannot merge histograms of different relative error")
        buckets = self._buckets
        if not buckets:
            self._buckets = dict(other._buckets)
        else:
            get = buckets.get
            for index, n in other._buckets.items():
                buckets[index] = get(index, 0) + n
        self.count += other.count
        self.sum += other.sum
        self.max = max(self.max, other.max)
        self.min = min(self.min, other.min)

    def quantile(self, q: float) -> float | None:
        """Return the value at quantile ``q`` (0..1): the value of rank ``floor(q*(n-1))``."""
        if self.count == 0:
            return None
        if not 0 <= q <= 1:
            raise ValueError("quantile must be between 0 and 1")
        return self.quantiles([q])[0]

    def quantiles(self, qs: Iterable[float]) -> list[float]:
        """Return several quantiles with one pass over the buckets (``qs`` ascending)."""
        wanted = list(qs)
        if self.count == 0:
            return [math.nan for _ in wanted]
        ranks = [math.floor(q * (self.count - 1)) for q in wanted]
        results: list[float] = []
        seen = 0
        position = 0
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            while position < len(ranks) and ranks[position] < seen:
                rank = ranks[position]
                if rank == self.count - 1:
                    results.append(self.max)
                elif rank == 0:
                    results.append(self.min)
                else:
                    results.append(self._value(index))
                position += 1
            if position == len(ranks):
                break
        while len(results) < len(ranks):
            results.append(self.max)
        return results

    def _value(self, index: int) -> float:
        upper = self.gamma**index
        value = 2 * upper / (self.gamma + 1)
        return min(max(value, self.min), self.max)

    def to_dict(self) -> dict[str, Any]:
        """Serialise (JSON-compatible) for merging elsewhere."""
        return {
            "relative_error": self.relative_error,
            "count": self.count,
            "sum": self.sum,
            "min": None if self.count == 0 else self.min,
            "max": self.max,
            "buckets": {str(k): v for k, v in self._buckets.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogHistogram:
        """Rebuild a histogram serialised by :meth:`to_dict`."""
        histogram = cls(float(data["relative_error"]))
        histogram._buckets = {int(k): int(v) for k, v in data["buckets"].items()}
        histogram.count = int(data["count"])
        histogram.sum = float(data["sum"])
        histogram.min = math.inf if data["min"] is None else float(data["min"])
        histogram.max = float(data["max"])
        return histogram


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

    def export(self, flock: str) -> dict[str, dict[str, Any]]:
        """Serialise the whole-run tallies of a flock, to merge with another replica's."""
        return {name: s.total.to_dict() for name, s in self._flocks.get(flock, {}).items()}

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

"""What a load test sees of its flocks at each sample, and the in-process collector of it."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from mobu.alerts.reporting import FailureReport
from mobu.events import EventBase
from mobu.loadtest.layers import layer_of_error
from mobu.models.stats import LatencySummary
from mobu.services.stats import Tally, WindowedTally

__all__ = ["Collector", "CounterBook", "EventView", "Latency", "Observation"]

MAX_ERROR_TEXT = 120
"""Longest error text kept as the key of a failure group."""


@dataclass(slots=True)
class Latency:
    """Duration stats of one event over some span (seconds; None when unknown)."""

    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    mean: float | None = None

    @classmethod
    def of_tally(cls, tally: Tally) -> Latency:
        """Stats of a tally (mean from its histogram's sum)."""
        summary = tally.summary()
        durations = tally.durations
        mean = durations.sum / durations.count if durations.count else None
        return cls.of_summary(summary, mean)

    @classmethod
    def of_summary(cls, summary: LatencySummary, mean: float | None = None) -> Latency:
        """Stats of an API summary (which has no mean)."""
        return cls(summary.p50, summary.p90, summary.p95, summary.p99, summary.max, mean)


@dataclass(slots=True)
class EventView:
    """One event type: cumulative counts and its latency over the window, the step, the run."""

    count: int = 0
    failures: int = 0
    window: Latency = field(default_factory=Latency)
    step: Latency = field(default_factory=Latency)
    total: Latency = field(default_factory=Latency)


@dataclass(slots=True)
class Observation:
    """One sample of the flocks under test (counts are cumulative since the test started)."""

    monkeys: int
    iterations: int
    """Business iterations ended (successes + failures)."""
    failures: int
    events: dict[str, EventView]
    errors: dict[str, int]
    """Failures by error (``Type: message``), cumulative."""
    layers: dict[str, float]
    """Layers that failed since the step began, with the (monotonic) time of their first failure."""
    lag: float | None = None
    """Largest event-loop lag since the last sample (None: not measured)."""


class CounterBook:
    """Cumulative totals of counters that may restart (a monkey removed, a flock restarted).

    A counter that goes down is taken as a new one: the old value is kept as retired.
    """

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._retired = 0

    def update(self, values: dict[str, int]) -> int:
        """Record the current values; returns the cumulative total."""
        for key, old in self._last.items():
            new = values.get(key)
            if new is None or new < old:
                self._retired += old
        self._last = dict(values)
        return self._retired + sum(values.values())


class Collector:
    """Event sink and failure reporter of an in-process test: counts, latencies, failures.

    Parameters
    ----------
    flocks
        Names of the flocks under test (other flocks' events are ignored).
    window
        The plan's sliding window.
    """

    def __init__(self, flocks: set[str], window: timedelta) -> None:
        self._flocks = flocks
        self._window = window
        self._counts: dict[str, list[int]] = {}
        self._totals: dict[str, Tally] = {}
        self._windows: dict[str, WindowedTally] = {}
        self._steps: dict[str, Tally] = {}
        self.errors: Counter[str] = Counter()
        self.layers: dict[str, float] = {}

    def publish(self, name: str, payload: EventBase) -> None:
        """Record one event of a flock under test."""
        if payload.flock not in self._flocks:
            return
        success = payload.__dict__.get("success")
        duration = payload.__dict__.get("duration")
        seconds = duration.total_seconds() if isinstance(duration, timedelta) else None
        counts = self._counts.setdefault(name, [0, 0])
        counts[0] += 1
        if success is False:
            counts[1] += 1
        if name not in self._totals:
            self._totals[name] = Tally()
            self._windows[name] = WindowedTally(self._window)
        self._totals[name].add(success, seconds)
        self._windows[name].add(success, seconds)
        self._steps.setdefault(name, Tally()).add(success, seconds)

    def failure(self, report: FailureReport) -> None:
        """Record one monkey failure: its error group and its layer."""
        if report.flock not in self._flocks:
            return
        text = " ".join(str(report.error).split())
        for secret in report.secrets:
            if secret:
                text = text.replace(secret, "**********")
        self.errors[f"{type(report.error).__name__}: {text}"[:MAX_ERROR_TEXT]] += 1
        layer = layer_of_error(report.error, report.context)
        self.layers.setdefault(layer, time.monotonic())

    def reset_step(self) -> None:
        """Begin a new step: its latencies and first failures start empty."""
        self._steps = {}
        self.layers = {}

    def events(self) -> dict[str, EventView]:
        """The events seen so far."""
        views = {}
        for name, (count, failures) in self._counts.items():
            step = self._steps.get(name)
            views[name] = EventView(
                count=count,
                failures=failures,
                window=Latency.of_tally(self._windows[name].snapshot()),
                step=Latency() if step is None else Latency.of_tally(step),
                total=Latency.of_tally(self._totals[name]),
            )
        return views

"""Threshold values over a span of samples, and breaches that open, grow and close."""

from __future__ import annotations

from dataclasses import dataclass

from mobu.loadtest.observe import EventView, Latency, Observation
from mobu.loadtest.plan import LATENCY_STATS, Threshold
from mobu.loadtest.results import Breach

__all__ = ["BreachTracker", "Sample", "span_value"]


@dataclass(slots=True)
class Sample:
    """An observation and when it was taken (seconds since the test began)."""

    t: float
    obs: Observation


def _latency(view: EventView | None, which: str, stat: str) -> float | None:
    if view is None:
        return None
    latency: Latency = getattr(view, which)
    value: float | None = getattr(latency, stat)
    return value


def span_value(threshold: Threshold, base: Sample | None, now: Sample, which: str) -> float | None:
    """The value of ``threshold`` between ``base`` and ``now`` (None: nothing to judge yet).

    ``which`` picks the latency: ``window`` (sliding), ``step`` or ``total``. Counts (failure
    rate, rate) are the differences between the two samples; ``base`` None means since the start.
    """
    event = threshold.event
    view = now.obs.events.get(event) if event is not None else None
    if threshold.stat in LATENCY_STATS:
        return _latency(view, which, threshold.stat)
    if event is not None:
        old = base.obs.events.get(event) if base is not None else None
        count = (view.count if view else 0) - (old.count if old else 0)
        failures = (view.failures if view else 0) - (old.failures if old else 0)
    else:
        count = now.obs.iterations - (base.obs.iterations if base else 0)
        failures = now.obs.failures - (base.obs.failures if base else 0)
    if threshold.stat == "failure_rate":
        return failures / count if count > 0 else None
    if now.obs.monkeys == 0 and which == "window":
        return None  # no monkeys (ramped to 0): no throughput to judge
    span = now.t - (base.t if base is not None else 0.0)
    return count / span if span > 0 else None


class BreachTracker:
    """Open breaches of the sliding-window checks, one per threshold, and the closed ones."""

    def __init__(self, thresholds: list[Threshold]) -> None:
        self._thresholds = thresholds
        self.open: dict[int, Breach] = {}
        self.closed: list[Breach] = []
        self._archive: list[Breach] = []

    def update(self, values: list[float | None], t: float, monkeys: int, stage: int | None) -> None:
        """Judge each threshold's current value; open, widen or close its breach."""
        for index, (threshold, value) in enumerate(zip(self._thresholds, values, strict=True)):
            current = self.open.get(index)
            if value is not None and threshold.breached(value):
                if current is None:
                    self.open[index] = make_breach(threshold, value, t, monkeys, stage, "window")
                else:
                    widen(current, threshold, value)
            elif current is not None:
                current.end = t
                self.closed.append(self.open.pop(index))

    def lasting(self, t: float, grace: float) -> Breach | None:
        """The earliest open breach that has lasted at least ``grace``."""
        long = [b for b in self.open.values() if t - b.start >= grace]
        return min(long, key=lambda b: b.start) if long else None

    def close_all(self, t: float) -> list[Breach]:
        """Close every open breach at ``t``; return all breaches, by start."""
        for breach in self.open.values():
            breach.end = t
            self.closed.append(breach)
        self.open = {}
        return sorted(self._archive + self.closed, key=lambda b: b.start)

    def clear(self, t: float) -> list[Breach]:
        """Close every breach and begin anew (a search step); returns the step's breaches."""
        for breach in self.open.values():
            breach.end = t
            self.closed.append(breach)
        step = sorted(self.closed, key=lambda b: b.start)
        self._archive += step
        self.open = {}
        self.closed = []
        return step


def make_breach(
    threshold: Threshold, value: float, t: float, monkeys: int, stage: int | None, where: str
) -> Breach:
    """A new breach of ``threshold`` with ``value``."""
    limit = _limit(threshold, value)
    return Breach(
        threshold=threshold.label,
        where=where,
        start=t,
        end=None,
        value=value,
        limit=limit,
        excess=abs(value - limit),
        monkeys=monkeys,
        stage=stage,
    )


def widen(breach: Breach, threshold: Threshold, value: float) -> None:
    """Keep the worst value of a breach."""
    worse = value > breach.value if value > breach.limit else value < breach.value
    if worse:
        breach.value = value
        breach.limit = _limit(threshold, value)
        breach.excess = abs(value - breach.limit)


def _limit(threshold: Threshold, value: float) -> float:
    if threshold.max is not None and value > threshold.max:
        return threshold.max
    assert threshold.min is not None
    return threshold.min

"""Durations of the phases of a lab cycle (token, spawn, session, websocket, execute, ...)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from mobu.tracing import phase as traced_phase

__all__ = ["PhaseTimings"]


class PhaseTimings:
    """Keeps the last duration and a running total of each named phase.

    A phase is timed whether it succeeds or fails; ``last`` is what monkey data shows and
    ``total``/``count`` feed averages (benchmarks).
    """

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self.total: dict[str, float] = {}
        self.count: dict[str, int] = {}

    def record(self, phase: str, seconds: float) -> None:
        """Add one measured duration of ``phase``."""
        self.last[phase] = seconds
        self.total[phase] = self.total.get(phase, 0.0) + seconds
        self.count[phase] = self.count.get(phase, 0) + 1

    @contextmanager
    def measure(self, phase: str) -> Iterator[None]:
        """Time the body as ``phase`` (a Sentry span too, when tracing is on)."""
        start = time.perf_counter()
        try:
            with traced_phase(phase):
                yield
        finally:
            self.record(phase, time.perf_counter() - start)

    def mean(self, phase: str) -> float | None:
        """Average duration of ``phase``, or None if never measured."""
        count = self.count.get(phase, 0)
        return self.total[phase] / count if count else None

    def snapshot(self) -> dict[str, float]:
        """Last duration of every phase, rounded to the millisecond."""
        return {name: round(value, 3) for name, value in self.last.items()}

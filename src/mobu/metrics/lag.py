"""Event-loop lag: how late a callback scheduled every ``interval`` actually runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

__all__ = ["LagMonitor"]


class LagMonitor:
    """Samples the event-loop lag with a self-rescheduling timer callback (no task, no sleep).

    Parameters
    ----------
    interval
        Sampling interval.
    observe
        Called with each lag (seconds).
    """

    def __init__(self, interval: timedelta, observe: Callable[[float], None]) -> None:
        self._interval = interval.total_seconds()
        self._observe = observe
        self._handle: asyncio.TimerHandle | None = None
        self.last = 0.0
        self.max = 0.0
        self.samples = 0

    def start(self) -> None:
        """Start sampling in the running loop."""
        if self._handle is None:
            self._schedule(asyncio.get_running_loop())

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        expected = loop.time() + self._interval
        self._handle = loop.call_at(expected, self._tick, loop, expected)

    def _tick(self, loop: asyncio.AbstractEventLoop, expected: float) -> None:
        lag = max(0.0, loop.time() - expected)
        self.last = lag
        self.max = max(self.max, lag)
        self.samples += 1
        self._observe(lag)
        self._schedule(loop)

    def stop(self) -> None:
        """Stop sampling."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

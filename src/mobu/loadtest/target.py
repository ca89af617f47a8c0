"""Where a load test runs its flocks: in this process, or on a mobu server (``--url``)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Protocol

from mobu.client import MobuClient
from mobu.factory import ProcessContext
from mobu.loadtest.layers import layer_of_event, layer_of_phase
from mobu.loadtest.observe import Collector, CounterBook, EventView, Latency, Observation
from mobu.metrics.lag import LagMonitor
from mobu.models.flock import FlockConfig

__all__ = ["EmbeddedTarget", "LoadTarget", "RemoteTarget"]

REQUEST_TIMEOUT = 3600.0
"""Seconds a start, resize or stop over the API may take (lab deletions are slow)."""


class LoadTarget(Protocol):
    """Starts, resizes, stops and observes the flocks of a test."""

    lag_warning: float | None
    """Event-loop lag (seconds) above which mobu itself is the bottleneck (None: unknown)."""

    async def start(self, config: FlockConfig) -> None:
        """Start a flock (its ``count`` monkeys)."""

    async def resize(self, name: str, count: int) -> None:
        """Grow or shrink a running flock; survivors keep running."""

    async def stop(self, name: str) -> None:
        """Stop a flock; returns once its monkeys stopped."""

    async def observe(self) -> Observation:
        """Sample the flocks under test."""

    def reset_step(self) -> None:
        """Begin a new step (capacity search): step latencies and first failures start empty."""


class EmbeddedTarget:
    """Runs the flocks in this process's engine (a :class:`ProcessContext` already entered)."""

    def __init__(
        self, context: ProcessContext, names: set[str], window: timedelta, interval: timedelta
    ) -> None:
        self._context = context
        self._collector = Collector(names, window)
        context.events.add_sink(self._collector)
        context.reporters.add(self._collector)
        self._names = names
        self._iterations = CounterBook()
        self._failures = CounterBook()
        self._lag = 0.0
        self._monitor = LagMonitor(interval, self._observe_lag)
        warning = context.config.metrics.event_loop_lag_warning
        self.lag_warning: float | None = warning.total_seconds()

    def _observe_lag(self, lag: float) -> None:
        self._lag = max(self._lag, lag)

    async def start(self, config: FlockConfig) -> None:
        """Start a flock in the engine (and the lag monitor with the first one)."""
        self._monitor.start()
        await self._context.manager.start_flock(config)

    async def resize(self, name: str, count: int) -> None:
        """Resize a flock of the engine."""
        await self._context.manager.resize_flock(name, count)

    async def stop(self, name: str) -> None:
        """Stop a flock of the engine."""
        await self._context.manager.stop_flock(name)

    async def observe(self) -> Observation:
        """Sample the engine's flocks and the collector."""
        manager = self._context.manager
        monkeys = 0
        done: dict[str, int] = {}
        failed: dict[str, int] = {}
        for name in self._names & set(manager.list_flocks()):
            for monkey in manager.get_flock(name).monkeys:
                monkeys += 1
                key = f"{name}/{monkey.name}/{id(monkey)}"
                business = monkey.business
                done[key] = business.success_count + business.failure_count
                failed[key] = business.failure_count
        lag, self._lag = self._lag, 0.0
        return Observation(
            monkeys=monkeys,
            iterations=self._iterations.update(done),
            failures=self._failures.update(failed),
            events=self._collector.events(),
            errors=dict(self._collector.errors),
            layers=dict(self._collector.layers),
            lag=lag,
        )

    def reset_step(self) -> None:
        """Begin a new step."""
        self._collector.reset_step()

    def close(self) -> None:
        """Stop the lag monitor."""
        self._monitor.stop()


class RemoteTarget:
    """Runs the flocks on a mobu server through its API (``mobu loadtest --url``).

    The server's statistics window (its ``events.statistics_window``) is the window; latency
    means and event-loop lag are not available; failures are grouped by the event that failed,
    and attributed to a layer by the lab-cycle phase the failing monkey was in (Nublado
    businesses) or else by that event.
    """

    lag_warning: float | None = None

    def __init__(self, client: MobuClient, names: set[str]) -> None:
        self._client = client
        self._names = names
        self._running: set[str] = set()
        self._books: dict[str, CounterBook] = {}
        self._step_failures: dict[str, int] = {}
        self._layers: dict[str, float] = {}
        self._last: dict[str, EventView] = {}
        self._monkey_failures: dict[str, int] = {}

    async def start(self, config: FlockConfig) -> None:
        """Start a flock on the server."""
        await self._client.start_flock(config, timeout=REQUEST_TIMEOUT)
        self._running.add(config.name)

    async def resize(self, name: str, count: int) -> None:
        """Resize a flock on the server (``PATCH /flocks/{flock}``)."""
        await self._client.resize_flock(name, count, timeout=REQUEST_TIMEOUT)

    async def stop(self, name: str) -> None:
        """Stop a flock on the server."""
        self._running.discard(name)
        await self._client.stop_flock(name, timeout=REQUEST_TIMEOUT)

    def _book(self, key: str) -> CounterBook:
        return self._books.setdefault(key, CounterBook())

    async def observe(self) -> Observation:
        """Sample the server's flocks (their monkeys and statistics)."""
        monkeys = 0
        done: dict[str, int] = {}
        failed: dict[str, int] = {}
        counts: dict[str, dict[str, int]] = {}
        views: dict[str, EventView] = {}
        for name in sorted(self._running):
            data = await self._client.get_flock(name)
            summary = await self._client.flock_summary(name)
            monkeys += len(data.monkeys)
            for m in data.monkeys:
                key = f"{name}/{m.name}"
                done[key] = m.business.success_count + m.business.failure_count
                failed[key] = m.business.failure_count
                if failed[key] > self._monkey_failures.get(key, 0):
                    # The phase the business was in when it failed (Nublado businesses)
                    layer = layer_of_phase((m.business.model_extra or {}).get("phase"))
                    if layer is not None:
                        self._layers.setdefault(layer, time.monotonic())
            for stats in summary.statistics or []:
                per = counts.setdefault(stats.event, {})
                per[f"{name}/count"] = stats.total.count
                per[f"{name}/failures"] = stats.total.failures
                views[stats.event] = EventView(
                    window=Latency.of_summary(stats.window),
                    step=Latency.of_summary(stats.window),
                    total=Latency.of_summary(stats.total),
                )
        self._monkey_failures = failed
        errors: Counter[str] = Counter()
        for event, per in counts.items():
            view = views[event]
            view.count = self._book(f"{event}/count").update(
                {k: v for k, v in per.items() if k.endswith("/count")}
            )
            view.failures = self._book(f"{event}/failures").update(
                {k: v for k, v in per.items() if k.endswith("/failures")}
            )
            if view.failures:
                errors[f"{event} failed"] = view.failures
            if view.failures > self._step_failures.setdefault(event, view.failures):
                self._layers.setdefault(layer_of_event(event), time.monotonic())
        for event, view in self._last.items():
            views.setdefault(event, EventView(count=view.count, failures=view.failures))
        self._last = views
        return Observation(
            monkeys=monkeys,
            iterations=self._book("iterations").update(done),
            failures=self._book("failures").update(failed),
            events=views,
            errors=dict(errors),
            layers=dict(self._layers),
        )

    def reset_step(self) -> None:
        """Begin a new step: failures from now on name the step's layer."""
        self._step_failures = {e: v.failures for e, v in self._last.items()}
        self._layers = {}

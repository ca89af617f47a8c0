"""Prometheus metrics of mobu: every name starts with ``mobu_``.

Label cardinality is bounded: flock and event labels are capped (``max_label_values``, then
``_other``), outcomes are ``success``/``failure``, states are the monkey states; no label is per
monkey. Per-notebook series exist only when ``notebook_labels`` is on.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

import psutil
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from structlog.typing import FilteringBoundLogger

from mobu.events import EventBase
from mobu.metrics.config import MetricsConfig
from mobu.metrics.lag import LagMonitor
from mobu.models.flock import FlockSummary
from mobu.models.monkey import MonkeyState
from mobu.sinks.queue import QueuedSink, RateLimitedWarning

__all__ = ["MobuMetrics"]

OTHER = "_other"
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _CappedLabel:
    """Maps label values to themselves until ``limit`` distinct ones were seen, then ``_other``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._limit:
            return OTHER
        self._seen.add(value)
        return value


class MobuMetrics:
    """The metrics registry of one mobu process, and an event sink feeding it.

    Flock, monkey and sink state is read at scrape time, through ``summaries``, ``sinks`` and
    ``extra``.

    Parameters
    ----------
    config
        The ``metrics:`` section.
    logger
        Logger for the event-loop lag warning (none: no warning).
    summaries
        Returns the summary of every flock (the flock manager's ``summarize_flocks``).
    sinks
        The queued event sinks (the list itself: sinks added to it later are seen).
    extra
        Returns further metrics to expose (the alert channels' counters).
    """

    def __init__(
        self,
        config: MetricsConfig,
        *,
        logger: FilteringBoundLogger | None = None,
        summaries: Callable[[], list[FlockSummary]] | None = None,
        sinks: list[QueuedSink] | None = None,
        extra: Callable[[], Iterable[Metric]] | None = None,
    ) -> None:
        self.config = config
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        buckets = tuple(config.duration_buckets)
        self.events_total = Counter(
            "mobu_events",
            "Events published, by flock, event type and outcome",
            ["flock", "event", "outcome"],
            registry=self.registry,
        )
        self.event_duration = Histogram(
            "mobu_event_duration_seconds",
            "Duration of the events that carry one, by flock, event type and outcome",
            ["flock", "event", "outcome"],
            buckets=buckets,
            registry=self.registry,
        )
        self.notebook_duration: Histogram | None = None
        if config.notebook_labels:
            self.notebook_duration = Histogram(
                "mobu_notebook_duration_seconds",
                "Duration of notebook executions, by flock, notebook and outcome (opt-in)",
                ["flock", "notebook", "outcome"],
                buckets=buckets,
                registry=self.registry,
            )
        self.event_loop_lag = Histogram(
            "mobu_event_loop_lag_seconds",
            "How late a timer callback runs: event-loop saturation of the load generator",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self._lag_threshold = config.event_loop_lag_warning.total_seconds()
        self._lag_warning = (
            RateLimitedWarning(
                logger,
                "Event loop lagging: mobu itself is saturated (add replicas or fewer monkeys)",
                timedelta(minutes=1),
            )
            if logger is not None
            else None
        )
        self.lag_monitor = LagMonitor(config.event_loop_lag_interval, self.observe_lag)
        self._flock_label = _CappedLabel(config.max_label_values)
        self._event_label = _CappedLabel(config.max_label_values)
        self._children: dict[tuple[str | None, str, bool], tuple[Any, Any]] = {}
        self._state = _StateCollector(
            summaries=summaries, sinks=sinks if sinks is not None else [], extra=extra
        )
        self.registry.register(self._state)

    def start(self) -> None:
        """Start sampling the event-loop lag (in the running loop)."""
        self._state.loop = asyncio.get_running_loop()
        self.lag_monitor.start()

    def stop(self) -> None:
        """Stop sampling."""
        self.lag_monitor.stop()

    def publish(self, name: str, payload: EventBase) -> None:
        """Count an event and observe its duration (an :class:`~mobu.events.EventSink`)."""
        success = payload.__dict__.get("success", True) is not False
        key = (payload.flock, name, success)
        children = self._children.get(key)
        if children is None:
            labels = (
                self._flock_label(payload.flock or "solitary"),
                self._event_label(name),
                "success" if success else "failure",
            )
            children = (self.events_total.labels(*labels), self.event_duration.labels(*labels))
            self._children[key] = children
        children[0].inc()
        duration = payload.__dict__.get("duration", None)
        if isinstance(duration, int | float) and not isinstance(duration, bool):
            duration = timedelta(seconds=duration)
        if isinstance(duration, timedelta):
            seconds = duration.total_seconds()
            children[1].observe(seconds)
            if self.notebook_duration is not None and name == "notebook_execution":
                self.notebook_duration.labels(
                    self._flock_label(payload.flock or "solitary"),
                    str(payload.__dict__.get("notebook", "")),
                    "success" if success else "failure",
                ).observe(seconds)

    def observe_lag(self, lag: float) -> None:
        """Record one event-loop lag sample; warn (rate-limited) past the threshold."""
        self.event_loop_lag.observe(lag)
        if lag > self._lag_threshold and self._lag_warning is not None:
            self._lag_warning(1, lag_seconds=round(lag, 3))

    def render(self) -> bytes:
        """Return the text exposition of every metric."""
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Collects, at scrape time, what already exists elsewhere: counters of the businesses,
    monkey states, flock start times, sink queues and process self-monitoring."""

    def __init__(
        self,
        *,
        summaries: Callable[[], list[FlockSummary]] | None,
        sinks: list[QueuedSink],
        extra: Callable[[], Iterable[Metric]] | None,
    ) -> None:
        self.summaries = summaries
        self.sinks = sinks
        self.extra = extra
        self.loop: asyncio.AbstractEventLoop | None = None
        self._process = psutil.Process(os.getpid())

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield from self._flocks()
        yield from self._sinks()
        yield from self._process_metrics()
        if self.extra is not None:
            yield from self.extra()

    def _flocks(self) -> Iterator[Metric]:
        iterations = CounterMetricFamily(
            "mobu_iterations",
            "Business iterations by flock, business and outcome (a failed startup is a failure)",
            labels=["flock", "business", "outcome"],
        )
        monkeys = GaugeMetricFamily(
            "mobu_monkeys", "Monkeys by flock and state", labels=["flock", "state"]
        )
        started = GaugeMetricFamily(
            "mobu_flock_start_time_seconds",
            "When the flock finished starting (Unix time)",
            labels=["flock", "business"],
        )
        flocks = GaugeMetricFamily("mobu_flocks", "Flocks running in this process")
        summaries = self.summaries() if self.summaries is not None else []
        flocks.add_metric([], len(summaries))
        for summary in summaries:
            name, business = summary.name, summary.business
            iterations.add_metric([name, business, "success"], summary.success_count)
            iterations.add_metric([name, business, "failure"], summary.failure_count)
            for state in MonkeyState:
                monkeys.add_metric([name, state.value], summary.monkey_states.get(state, 0))
            if summary.start_time is not None:
                started.add_metric([name, business], summary.start_time.timestamp())
        yield from (iterations, monkeys, started, flocks)

    def _sinks(self) -> Iterator[Metric]:
        dropped = CounterMetricFamily(
            "mobu_event_sink_dropped",
            "Events a sink dropped: queue full, or the backend failed or timed out",
            labels=["sink", "reason"],
        )
        written = CounterMetricFamily(
            "mobu_event_sink_written", "Events a sink wrote", labels=["sink"]
        )
        queued = GaugeMetricFamily(
            "mobu_event_sink_queued", "Events waiting in a sink's queue", labels=["sink"]
        )
        for sink in self.sinks:
            for reason, count in sink.dropped.items():
                dropped.add_metric([sink.name, reason], count)
            written.add_metric([sink.name], sink.written)
            queued.add_metric([sink.name], sink.queued)
        yield from (dropped, written, queued)

    def _process_metrics(self) -> Iterator[Metric]:
        process = self._process
        with process.oneshot():
            rss = process.memory_info().rss
            cpu = process.cpu_times()
            fds = process.num_fds()
            threads = process.num_threads()
        yield GaugeMetricFamily(
            "mobu_resident_memory_bytes", "Resident memory of the mobu process", value=rss
        )
        yield CounterMetricFamily(
            "mobu_cpu_seconds", "CPU time of the mobu process", value=cpu.user + cpu.system
        )
        yield GaugeMetricFamily("mobu_open_fds", "Open file descriptors", value=fds)
        yield GaugeMetricFamily("mobu_threads", "Threads of the mobu process", value=threads)
        tasks = 0
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                tasks = len(asyncio.all_tasks(loop))
            except RuntimeError:
                tasks = 0
        yield GaugeMetricFamily("mobu_asyncio_tasks", "Tasks in the event loop", value=tasks)

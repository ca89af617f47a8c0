"""Wires statistics, metrics, event sinks and alert channels into one process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from structlog.typing import FilteringBoundLogger

from mobu.alerts import AlertsConfig, ApiErrorReporter, SentryReporter, SlackAlerter
from mobu.events import Events
from mobu.metrics.config import MetricsConfig
from mobu.metrics.prometheus import MobuMetrics
from mobu.models.flock import FlockSummary
from mobu.services.alerts import Reporters
from mobu.services.manager import FlockManager
from mobu.services.stats import StatsCollector
from mobu.sinks import EventsConfig, QueuedSink, build_sinks

__all__ = ["Observability"]


class Observability:
    """Everything that watches the monkeys: built by the process context from the configuration.

    Construction adds the event sinks (statistics, metrics, queued sinks, Slack recovery
    detection) to ``events`` and the failure reporters (Slack, Sentry) to ``reporters``;
    :meth:`start` starts their tasks and timers in the running loop; :meth:`aclose` stops them,
    each within a bounded time.

    Parameters
    ----------
    events, reporters
        The process's event fan-out and failure fan-out.
    logger
        Main logger.
    alerts, metrics, sinks
        The ``alerts:``, ``metrics:`` and ``events:`` sections.
    environment_name
        Name of the environment, for the Slack status summary.
    summaries
        Returns the summaries of the flocks, for the Slack status summary.
    http_client
        Returns the shared httpx client (called only when Slack is configured).
    """

    def __init__(
        self,
        *,
        events: Events,
        reporters: Reporters,
        logger: FilteringBoundLogger,
        alerts: AlertsConfig | None = None,
        metrics: MetricsConfig | None = None,
        sinks: EventsConfig | None = None,
        environment_name: str | None = None,
        summaries: Callable[[], list[FlockSummary]],
        http_client: Callable[[], httpx.AsyncClient],
    ) -> None:
        alerts = alerts or AlertsConfig()
        metrics = metrics or MetricsConfig()
        sinks = sinks or EventsConfig()
        self._logger = logger
        self.stats = StatsCollector(window=sinks.statistics_window)
        events.add_sink(self.stats)
        self.metrics = MobuMetrics(metrics, logger=logger) if metrics.enabled else None
        if self.metrics is not None:
            events.add_sink(self.metrics)
        self.sinks: list[QueuedSink] = build_sinks(sinks, logger)
        for sink in self.sinks:
            events.add_sink(sink)
        self.api_reporters: list[ApiErrorReporter] = []
        self.slack: SlackAlerter | None = None
        if alerts.slack is not None:
            self.slack = SlackAlerter(
                alerts.slack,
                http_client=http_client(),
                summaries=summaries,
                logger=logger,
                environment_name=environment_name,
            )
            reporters.add(self.slack)
            events.add_sink(self.slack)
            self.api_reporters.append(self.slack)
        self.sentry: SentryReporter | None = None
        if alerts.sentry is not None:
            self.sentry = SentryReporter(alerts.sentry, logger=logger)
            reporters.add(self.sentry)
            self.api_reporters.append(self.sentry)

    def add_sink(self, sink: QueuedSink, events: Events) -> None:
        """Add a queued sink built elsewhere (tests, embedding); started by :meth:`start`."""
        self.sinks.append(sink)
        events.add_sink(sink)

    def bind(self, manager: FlockManager) -> None:
        """Let metrics and the status summary read the flocks of ``manager``."""
        if self.metrics is not None:
            self.metrics.bind(manager, self.sinks, self._alert_metrics)

    def _alert_metrics(self) -> Iterator[Metric]:
        alerts = CounterMetricFamily(
            "mobu_alerts",
            "Alert messages by channel and outcome (sent, failed, dropped, rate-limited)",
            labels=["channel", "outcome"],
        )
        if self.slack is not None:
            alerts.add_metric(["slack", "sent"], self.slack.sent)
            alerts.add_metric(["slack", "failed"], self.slack.failed)
            alerts.add_metric(["slack", "dropped"], self.slack.dropped)
        if self.sentry is not None:
            alerts.add_metric(["sentry", "sent"], self.sentry.captured)
            alerts.add_metric(["sentry", "rate_limited"], self.sentry.suppressed)
        yield alerts

    async def start(self) -> None:
        """Start writer tasks and timers."""
        for sink in self.sinks:
            sink.start()
        if self.metrics is not None:
            self.metrics.start()
        if self.slack is not None:
            self.slack.start()

    async def aclose(self) -> None:
        """Stop everything in parallel; each part bounds its own time."""
        if self.metrics is not None:
            self.metrics.stop()
        closers = [sink.aclose() for sink in self.sinks]
        if self.slack is not None:
            closers.append(self.slack.aclose())
        if self.sentry is not None:
            closers.append(self.sentry.aclose())
        results = await asyncio.gather(*closers, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                self._logger.warning(
                    "Closing an observability component failed",
                    error=f"{type(result).__name__}: {result}",
                )

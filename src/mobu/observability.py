"""Wires statistics, metrics, event sinks and alert channels into one process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Literal

import httpx
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from structlog.typing import FilteringBoundLogger

from mobu.alerts import (
    AlertsConfig,
    ApiErrorReporter,
    SentryReporter,
    SlackAlerter,
    report_api_error,
)
from mobu.alerts.config import SentryConfig
from mobu.alerts.reporting import Reporters
from mobu.events import Events
from mobu.metrics.config import MetricsConfig
from mobu.metrics.prometheus import MobuMetrics
from mobu.models.flock import FlockSummary
from mobu.services.stats import StatsCollector
from mobu.sinks import EventsConfig, QueuedSink, build_sinks
from mobu.tracing import TracingSink

__all__ = ["Observability"]


class Observability:
    """Everything that watches the monkeys: built by the process context from the configuration.

    Construction adds the event sinks (statistics, metrics, queued sinks, Slack recovery
    detection) to ``events`` and the failure reporters (Slack, Sentry) to ``reporters``; the
    metrics and the Slack status summary read the flocks through ``summaries``;
    :meth:`start` starts their tasks and timers in the running loop; :meth:`aclose` stops them,
    each within a bounded time.

    Parameters
    ----------
    events, reporters
        The process's event fan-out and failure fan-out.
    stats
        The statistics collector the flocks read (an event sink, added to ``events``).
    summaries
        Returns the summary of every flock (the flock manager's ``summarize_flocks``).
    logger
        Main logger.
    alerts, metrics, sinks
        The ``alerts:``, ``metrics:`` and ``events:`` sections.
    environment_name
        Name of the environment, for the Slack status summary.
    http_client
        Returns the shared httpx client (called only when Slack is configured).
    traces_sample_config
        The top-level ``sentry_traces_sample_config`` (the reference's key): the traces sample
        rate unless ``alerts.sentry.traces_sample_rate`` is set.
    """

    def __init__(
        self,
        *,
        events: Events,
        reporters: Reporters,
        stats: StatsCollector,
        summaries: Callable[[], list[FlockSummary]],
        logger: FilteringBoundLogger,
        alerts: AlertsConfig | None = None,
        metrics: MetricsConfig | None = None,
        sinks: EventsConfig | None = None,
        environment_name: str | None = None,
        http_client: Callable[[], httpx.AsyncClient],
        traces_sample_config: float | Literal["errors"] | None = None,
    ) -> None:
        alerts = alerts or AlertsConfig()
        metrics = metrics or MetricsConfig()
        sinks = sinks or EventsConfig()
        self._logger = logger
        self.stats = stats
        self.sinks: list[QueuedSink] = build_sinks(sinks, logger, app_metrics=metrics)
        self.slack: SlackAlerter | None = None
        if alerts.slack is not None:
            self.slack = SlackAlerter(
                alerts.slack,
                http_client=http_client(),
                summaries=summaries,
                logger=logger,
                environment_name=environment_name,
            )
        self.sentry = _sentry(alerts.sentry, traces_sample_config, logger)
        self.metrics: MobuMetrics | None = None
        if metrics.prometheus:
            self.metrics = MobuMetrics(
                metrics,
                logger=logger,
                summaries=summaries,
                sinks=self.sinks,
                extra=self._alert_metrics,
            )
        self.api_reporters: list[ApiErrorReporter] = []
        events.add_sink(self.stats)
        if self.metrics is not None:
            events.add_sink(self.metrics)
        for sink in self.sinks:
            events.add_sink(sink)
        if self.slack is not None:
            reporters.add(self.slack)
            events.add_sink(self.slack)
            self.api_reporters.append(self.slack)
        if self.sentry is not None:
            reporters.add(self.sentry)
            self.api_reporters.append(self.sentry)
            if self.sentry.config.traces_sample_rate != 0:
                events.add_sink(TracingSink())

    def add_sink(self, sink: QueuedSink, events: Events) -> None:
        """Add a queued sink built elsewhere (tests, embedding); started by :meth:`start`."""
        self.sinks.append(sink)
        events.add_sink(sink)

    def report_api_error(self, method: str, path: str, error: BaseException) -> None:
        """Report an uncaught REST API exception to every alert channel; never raises."""
        report_api_error(self.api_reporters, method, path, error)

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


def _sentry(
    config: SentryConfig | None,
    traces_sample_config: float | Literal["errors"] | None,
    logger: FilteringBoundLogger,
) -> SentryReporter | None:
    """The Sentry reporter; ``alerts.sentry.traces_sample_rate`` wins over the top-level key."""
    if config is None:
        return None
    if traces_sample_config is not None and "traces_sample_rate" not in config.model_fields_set:
        config = config.model_copy(update={"traces_sample_rate": traces_sample_config})
    return SentryReporter(config, logger=logger)

"""Slack incoming-webhook alerts: per root cause, with counts, recoveries and a daily status."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from structlog.typing import FilteringBoundLogger

from mobu.alerts.config import SlackConfig
from mobu.alerts.incidents import IncidentBook, IncidentKey, Recovery
from mobu.alerts.messages import (
    format_api_error,
    format_failure,
    format_recovery,
    format_repeat,
    format_status,
)
from mobu.alerts.reporting import FailureReport
from mobu.events import EventBase
from mobu.models.flock import FlockSummary
from mobu.redaction import redact_text
from mobu.sinks.queue import QueuedWriter

__all__ = ["SlackAlerter", "SlackWebhook"]

_SOLITARY = "(solitary)"
"""How a solitary run's incidents name their flock."""

_RETRY_AFTER_MAX = 30.0
"""Longest wait, in seconds, that a 429's ``Retry-After`` may ask for."""


class SlackWebhook:
    """The transport: posts messages to an incoming webhook from a bounded queue, in order.

    Messages wait in a :class:`~mobu.sinks.queue.QueuedWriter` (a full queue drops and counts
    them) and are posted one at a time through the shared HTTP client; a 429 is retried once
    after its ``Retry-After`` (at most 30 s). Never raises into the caller.

    Parameters
    ----------
    config
        The ``alerts.slack`` section (webhook, queue size, timeout).
    http_client
        The process's shared httpx client.
    logger
        Logger for delivery problems; the webhook URL is never logged.
    """

    def __init__(
        self, config: SlackConfig, *, http_client: httpx.AsyncClient, logger: FilteringBoundLogger
    ) -> None:
        self._url = config.webhook.get_secret_value()
        self._timeout = config.timeout.total_seconds()
        self._client = http_client
        self._logger = logger
        self.sent = 0
        self.failed = 0
        write_timeout = 2 * config.timeout + timedelta(seconds=_RETRY_AFTER_MAX + 1)
        self._writer: QueuedWriter[dict[str, Any]] = QueuedWriter(
            self._write,
            name="slack-alerts",
            on_drop=self._dropped,
            queue_size=config.queue_size,
            batch_size=1,
            write_timeout=write_timeout,
            drain_timeout=config.timeout,
        )

    @property
    def dropped(self) -> int:
        """Messages dropped because the queue was full."""
        return self._writer.dropped["full"]

    def post(self, message: dict[str, Any]) -> None:
        """Queue ``message`` for posting."""
        self._writer.put(message)

    def start(self) -> None:
        """Start the writer task (in the running loop)."""
        self._writer.start()

    async def flush(self) -> None:
        """Wait until every message queued so far was posted (or failed)."""
        await self._writer.flush()

    async def aclose(self) -> None:
        """Post what is queued within the post timeout, then stop."""
        await self._writer.aclose()

    async def _write(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            await self._post(message)

    async def _post(self, message: dict[str, Any]) -> None:
        for attempt in range(2):
            try:
                response = await self._client.post(self._url, json=message, timeout=self._timeout)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                status = None
            else:
                if response.status_code == 200:
                    self.sent += 1
                    return
                status = response.status_code
                error = response.text[:200]
                if status == 429 and attempt == 0 and not self._writer.closing:
                    await asyncio.sleep(_retry_after(response.headers.get("Retry-After")))
                    continue
            break
        self._failed(status, error)

    def _failed(self, status: int | None, error: str) -> None:
        self.failed += 1
        # the webhook URL is the credential: never let it reach a log line
        self._logger.warning(
            "Posting to Slack failed", status=status, error=redact_text(error, [self._url])
        )

    def _dropped(self, reason: str, count: int, exc: BaseException | None) -> None:
        if reason == "error":
            # a post that hung past the write timeout, or failed unexpectedly
            self._failed(None, f"{type(exc).__name__}: {exc}" if exc else "timed out")
        elif self._writer.closing:
            self._logger.warning("Slack alerts not posted before shutdown", dropped=count)
        else:
            self._logger.warning("Slack queue full, alert dropped", dropped=self.dropped)


class SlackAlerter:
    """Posts alerts to a Slack incoming webhook without ever blocking a monkey.

    It is a :class:`~mobu.alerts.reporting.FailureReporter` (failures) and an
    :class:`~mobu.events.EventSink` (it sees successes, to say when a flock recovered). The
    incidents (:class:`~mobu.alerts.incidents.IncidentBook`) decide what to post; the
    :class:`SlackWebhook` posts it.

    Deduplication: failures with the same root cause (flock, error type, notebook, cell) post one
    alert; the ones within ``dedup_window`` after it are counted and posted as one "still
    failing" message at the end of the window. When the monkey that failed publishes a success
    (for notebook failures: a successful run of the same notebook), the incident closes with a
    "recovered" message giving the count.

    Parameters
    ----------
    config
        The ``alerts.slack`` section.
    http_client
        The process's shared httpx client.
    summaries
        Returns the summaries of the running flocks, for the status message.
    logger
        Logger for delivery problems.
    environment_name
        Shown in the status summary.
    """

    def __init__(
        self,
        config: SlackConfig,
        *,
        http_client: httpx.AsyncClient,
        summaries: Callable[[], list[FlockSummary]],
        logger: FilteringBoundLogger,
        environment_name: str | None = None,
    ) -> None:
        self.config = config
        self.environment_name = environment_name
        self.incidents = IncidentBook()
        self.webhook = SlackWebhook(
            config, http_client=http_client, logger=logger.bind(channel="slack")
        )
        self._summaries = summaries
        self._window = config.dedup_window
        self._timers: dict[IncidentKey, asyncio.TimerHandle] = {}
        self._status_timer: asyncio.TimerHandle | None = None
        self._closing = False

    @property
    def sent(self) -> int:
        """Messages posted."""
        return self.webhook.sent

    @property
    def failed(self) -> int:
        """Messages the webhook did not accept."""
        return self.webhook.failed

    @property
    def dropped(self) -> int:
        """Messages dropped because the queue was full."""
        return self.webhook.dropped

    # Lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer task and the status timer (in the running loop)."""
        self.webhook.start()
        if self._status_timer is None:
            self._schedule_status()

    async def flush(self) -> None:
        """Wait until every message queued so far was posted (or failed)."""
        await self.webhook.flush()

    async def aclose(self) -> None:
        """Stop: no more alerts; post what is queued within the post timeout, then stop."""
        self._closing = True
        if self._status_timer is not None:
            self._status_timer.cancel()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        await self.webhook.aclose()

    # Inputs -------------------------------------------------------------------------------------

    def failure(self, report: FailureReport) -> None:
        """A monkey failed: alert, or count it under the open alert of the same root cause."""
        if self._closing or not self.config.failures:
            return
        context = report.context
        key = IncidentKey(
            flock=report.flock,
            error_type=type(report.error).__name__,
            notebook=_opt(context.get("notebook")),
            cell=_opt(context.get("cell") or context.get("cell_id")),
        )
        if self.incidents.failure(key, business=report.business, monkey=report.monkey):
            self.webhook.post(format_failure(report, self.config.code_max_chars))
            self._schedule_window(key)

    def publish(self, name: str, payload: EventBase) -> None:
        """See successes: close incidents of the flock whose monkey succeeds again."""
        if not self.incidents.watches(payload.flock):
            return
        if payload.__dict__.get("success", None) is not True:
            return
        recoveries = self.incidents.success(
            payload.flock,
            payload.username,
            notebook=payload.__dict__.get("notebook", None),
            cell=hasattr(payload, "cell_id"),
        )
        for recovery in recoveries:
            self._recovered(recovery)

    def api_error(self, method: str, path: str, error: BaseException) -> None:
        """Report an uncaught exception of a REST API handler."""
        if self._closing or not self.config.api_errors:
            return
        self.webhook.post(format_api_error(method, path, error, self.config.code_max_chars))

    def post_status(self) -> bool:
        """Queue the status summary now; False when there is no flock (nothing is posted)."""
        message = format_status(self._summaries(), self.environment_name)
        if message is None:
            return False
        self.webhook.post(message)
        return True

    # Incidents ----------------------------------------------------------------------------------

    def _schedule_window(self, key: IncidentKey) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timers[key] = loop.call_later(self._window.total_seconds(), self._window_end, key)

    def _window_end(self, key: IncidentKey) -> None:
        self._timers.pop(key, None)
        if self._closing or self.incidents.get(key) is None:
            return
        suppressed = self.incidents.window_end(key)
        if suppressed:
            flock = key.flock or _SOLITARY
            self.webhook.post(
                format_repeat(
                    flock, key.error_type, key.notebook, key.cell, suppressed, self._window
                )
            )
            self._schedule_window(key)

    def _recovered(self, recovery: Recovery) -> None:
        incident = recovery.incident
        key = incident.key
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if self.config.recovery and not self._closing:
            self.webhook.post(
                format_recovery(
                    key.flock or _SOLITARY,
                    incident.business,
                    key.error_type,
                    key.notebook,
                    key.cell,
                    incident.failures,
                    incident.since,
                    recovery.at,
                )
            )

    # Status summary -----------------------------------------------------------------------------

    def _schedule_status(self) -> None:
        interval = self.config.status_interval
        if interval is None or self._closing:
            return
        loop = asyncio.get_running_loop()
        self._status_timer = loop.call_later(interval.total_seconds(), self._status_due)

    def _status_due(self) -> None:
        self.post_status()
        self._schedule_status()


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 1), 0.0), _RETRY_AFTER_MAX)
    except ValueError:
        return 1.0


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)

"""Slack incoming-webhook alerts: per root cause, with counts, recoveries and a daily status."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from structlog.typing import FilteringBoundLogger

from mobu.alerts.config import SlackConfig
from mobu.alerts.messages import (
    format_api_error,
    format_failure,
    format_recovery,
    format_repeat,
    format_status,
)
from mobu.alerts.redact import redact_text
from mobu.alerts.reporting import FailureReport
from mobu.events import EventBase
from mobu.models.flock import FlockSummary

__all__ = ["SlackAlerter"]

_Key = tuple[str, str, str | None, str | None]
"""Root cause: flock, error type, notebook, cell."""


@dataclass(slots=True)
class _Incident:
    key: _Key
    business: str
    since: datetime
    failures: int = 1
    suppressed: int = 0
    window_open: bool = True
    usernames: set[str] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None


class SlackAlerter:
    """Posts alerts to a Slack incoming webhook without ever blocking a monkey.

    It is a :class:`~mobu.alerts.reporting.FailureReporter` (failures) and an
    :class:`~mobu.events.EventSink` (it sees successes, to say when a flock recovered). Messages
    wait in a bounded queue for a writer task; a full queue drops (and counts) them.

    Deduplication: failures with the same root cause (flock, error type, notebook, cell) post one
    alert; the ones within ``dedup_window`` after it are counted and posted as one "still
    failing" message at the end of the window. When the monkey that failed publishes a success
    (for notebook failures: a successful run of the same notebook), the incident closes with a
    "recovered" message giving the count.

    Parameters
    ----------
    config
        The ``alerts.slack`` section.
    logger
        Logger for delivery problems.
    environment_name
        Shown in the status summary.
    summaries
        Returns the summary of every flock, for the status summary.
    """

    def __init__(
        self,
        config: SlackConfig,
        *,
        logger: FilteringBoundLogger,
        environment_name: str | None = None,
        summaries: Callable[[], list[FlockSummary]] | None = None,
    ) -> None:
        self.config = config
        self.environment_name = environment_name
        self._logger = logger.bind(channel="slack")
        self._url = config.webhook.get_secret_value()
        self._window = config.dedup_window
        self._incidents: dict[_Key, _Incident] = {}
        self._open_flocks: dict[str, set[_Key]] = {}
        self._queue: deque[dict[str, Any]] = deque()
        self._wakeup: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._status_timer: asyncio.TimerHandle | None = None
        self._status_task: asyncio.Task[None] | None = None
        self._summaries = summaries
        self._closing = False
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    # Lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer task and the status timer (in the running loop)."""
        if self._task is not None:
            return
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        if self._queue:
            self._wakeup.set()
        self._task = asyncio.create_task(self._run(), name="slack-alerts")
        self._schedule_status()

    async def flush(self) -> None:
        """Wait until every message queued so far was posted (or failed)."""
        if self._task is None or self._idle is None or self._wakeup is None:
            return
        while self._queue or not self._idle.is_set():
            self._idle.clear()
            self._wakeup.set()
            await self._idle.wait()

    async def aclose(self) -> None:
        """Stop: no more alerts; post what is queued within the post timeout, then stop."""
        self._closing = True
        if self._status_timer is not None:
            self._status_timer.cancel()
        for incident in self._incidents.values():
            if incident.timer is not None:
                incident.timer.cancel()
        tasks = {t for t in (self._task, self._status_task) if t is not None and not t.done()}
        if self._wakeup is not None:
            self._wakeup.set()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.config.timeout.total_seconds())
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1)

    # Inputs -------------------------------------------------------------------------------------

    def failure(self, report: FailureReport) -> None:
        """A monkey failed: alert, or count it under the open alert of the same root cause."""
        if self._closing or not self.config.failures:
            return
        context = report.context
        notebook = _opt(context.get("notebook"))
        cell = _opt(context.get("cell") or context.get("cell_id"))
        key: _Key = (report.flock or "(solitary)", type(report.error).__name__, notebook, cell)
        incident = self._incidents.get(key)
        if incident is None:
            incident = _Incident(key=key, business=report.business, since=_now())
            self._incidents[key] = incident
            if report.flock is not None:
                self._open_flocks.setdefault(report.flock, set()).add(key)
        elif incident.window_open:
            incident.failures += 1
            incident.suppressed += 1
            incident.usernames.add(report.monkey)
            return
        else:
            incident.failures += 1
        incident.usernames.add(report.monkey)
        incident.window_open = True
        self._enqueue(format_failure(report, self.config.code_max_chars))
        self._schedule_window(incident)

    def publish(self, name: str, payload: EventBase) -> None:
        """See successes: close incidents of the flock whose monkey succeeds again."""
        if not self._open_flocks:
            return
        keys = self._open_flocks.get(payload.flock or "")
        if not keys or payload.__dict__.get("success", None) is not True:
            return
        notebook = payload.__dict__.get("notebook", None)
        for key in list(keys):
            incident = self._incidents[key]
            if payload.username not in incident.usernames:
                continue
            if key[2] is not None and (notebook != key[2] or hasattr(payload, "cell_id")):
                continue
            self._resolve(incident)

    def api_error(self, method: str, path: str, error: BaseException) -> None:
        """Report an uncaught exception of a REST API handler."""
        if self._closing or not self.config.api_errors:
            return
        self._enqueue(format_api_error(method, path, error, self.config.code_max_chars))

    # Incidents ----------------------------------------------------------------------------------

    def _schedule_window(self, incident: _Incident) -> None:
        if incident.timer is not None:
            incident.timer.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        incident.timer = loop.call_later(
            self._window.total_seconds(), self._window_end, incident.key
        )

    def _window_end(self, key: _Key) -> None:
        incident = self._incidents.get(key)
        if incident is None or self._closing:
            return
        incident.timer = None
        if incident.suppressed:
            flock, error_type, notebook, cell = key
            self._enqueue(
                format_repeat(flock, error_type, notebook, cell, incident.suppressed, self._window)
            )
            incident.suppressed = 0
            self._schedule_window(incident)
        else:
            incident.window_open = False

    def _resolve(self, incident: _Incident) -> None:
        key = incident.key
        del self._incidents[key]
        keys = self._open_flocks.get(key[0])
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._open_flocks[key[0]]
        if incident.timer is not None:
            incident.timer.cancel()
        if self.config.recovery and not self._closing:
            flock, error_type, notebook, cell = key
            self._enqueue(
                format_recovery(
                    flock,
                    incident.business,
                    error_type,
                    notebook,
                    cell,
                    incident.failures,
                    incident.since,
                    _now(),
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

    def post_status(self) -> bool:
        """Queue the status summary now; False when there is no flock (nothing is posted)."""
        if self._summaries is None:
            return False
        message = format_status(self._summaries(), self.environment_name)
        if message is None:
            return False
        self._enqueue(message)
        return True

    # Delivery -----------------------------------------------------------------------------------

    def _enqueue(self, message: dict[str, Any]) -> None:
        if len(self._queue) >= self.config.queue_size:
            self.dropped += 1
            self._logger.warning("Slack queue full, alert dropped", dropped=self.dropped)
            return
        self._queue.append(message)
        if self._wakeup is not None:
            self._wakeup.set()

    async def _run(self) -> None:
        assert self._wakeup is not None
        assert self._idle is not None
        timeout = self.config.timeout.total_seconds()
        async with httpx.AsyncClient(timeout=timeout) as client:
            while True:
                if not self._queue:
                    self._idle.set()
                    if self._closing:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                self._idle.clear()
                await self._post(client, self._queue.popleft())

    async def _post(self, client: httpx.AsyncClient, message: dict[str, Any]) -> None:
        for attempt in range(2):
            try:
                response = await client.post(self._url, json=message)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                status = None
            else:
                if response.status_code == 200:
                    self.sent += 1
                    return
                status = response.status_code
                error = response.text[:200]
                if status == 429 and attempt == 0 and not self._closing:
                    delay = _retry_after(response.headers.get("Retry-After"))
                    await asyncio.sleep(delay)
                    continue
            break
        self.failed += 1
        # the webhook URL is the credential: never let it reach a log line
        self._logger.warning(
            "Posting to Slack failed", status=status, error=redact_text(error, [self._url])
        )


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 1), 0.0), 30.0)
    except ValueError:
        return 1.0


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _now() -> datetime:
    return datetime.now(tz=UTC)

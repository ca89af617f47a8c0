"""Sentry: monkey failures with tags, a fingerprint per root cause, and attachments."""

from __future__ import annotations

import asyncio
import time
import traceback
from typing import Any

import sentry_sdk
from sentry_sdk.types import Event, Hint
from sentry_sdk.utils import event_from_exception
from structlog.typing import FilteringBoundLogger

from mobu import tracing
from mobu.alerts.config import SentryConfig
from mobu.alerts.reporting import FailureReport
from mobu.redaction import redact_text, redact_value, strip_ansi

__all__ = ["SentryReporter"]

_TAG_KEYS = {
    "notebook": "notebook",
    "cell": "cell",
    "cell_id": "cell",
    "phase": "phase",
    "node": "node",
    "image": "image",
    "image_reference": "image_reference",
    "image_description": "image_description",
}
_ATTACHMENT_KEYS = {
    "spawn_log": "spawn-log.txt",
    "progress": "spawn-log.txt",
    "output": "output.txt",
    "error": "output.txt",
    "traceback": "output.txt",
    "code": "code.txt",
}
"""Context keys sent as attachments (the first present key wins per file name)."""


REFERENCE_FINGERPRINT = (
    "{{ tags.flock }}",
    "{{ tags.business }}",
    "{{ tags.notebook }}",
    "{{ tags.cell }}",
)
"""Appended to every error's fingerprint, as the reference does: one issue per flock, business,
notebook and cell (Sentry fills the templates in from the event's tags)."""


def _fingerprint(event: Event, hint: Hint) -> Event:
    """The reference's ``before_send``: append the tag templates to the fingerprint."""
    existing = [f for f in event.get("fingerprint") or [] if f != "{{ default }}"]
    event["fingerprint"] = [*existing, *(f for f in REFERENCE_FINGERPRINT if f not in existing)]
    return event


def _redacted(event: Event) -> Event:
    """Last line of defence: redact credential-shaped text in every string of the event."""
    redacted: Event = redact_value(dict(event))
    return redacted


def _before_send(event: Event, hint: Hint) -> Event | None:
    """The reference's fingerprint, then safir's handler (``{{ default }}`` first, the
    environment last, ``to_sentry()`` tags, contexts and attachments), then redaction."""
    from safir.sentry import before_send_handler  # only with Sentry on (slow import)

    return _redacted(before_send_handler(_fingerprint(event, hint), hint))


def _only_errored(event: Event, hint: Hint) -> Event | None:
    """``errors`` sampling: keep only the transactions tagged ``errored=true``."""
    tags = event.get("tags") or {}
    return _redacted(event) if str(tags.get("errored", "")).lower() == "true" else None


def _transaction(event: Event, hint: Hint) -> Event | None:
    return _redacted(event)


class SentryReporter:
    """Reports monkey failures (and uncaught API errors) to Sentry.

    Events carry tags ``flock``, ``business``, ``notebook``, ``cell``, ``phase``, ``node``,
    ``image_*`` when the error's context knows them, the user ``{username}``, the reference's
    fingerprint ``{{ default }}``, ``{{ tags.flock }}``, ``{{ tags.business }}``,
    ``{{ tags.notebook }}``, ``{{ tags.cell }}`` and the environment (one issue per failing
    cell), and as attachments the traceback and, when present, the spawn progress log, the
    output and the code. A traces sample rate other than 0 turns on :mod:`mobu.tracing`.
    Nothing is sent once :meth:`aclose` started. Capturing only queues the event for the SDK's
    background thread, so it never blocks a monkey.

    Parameters
    ----------
    config
        The ``alerts.sentry`` section.
    logger
        Logger.
    """

    def __init__(self, config: SentryConfig, *, logger: FilteringBoundLogger) -> None:
        self.config = config
        self._logger = logger.bind(channel="sentry")
        self._closing = False
        rate = config.traces_sample_rate
        options: dict[str, Any] = {
            "dsn": config.dsn.get_secret_value(),
            "environment": config.environment,
            "release": config.release,
            "default_integrations": False,
            "auto_enabling_integrations": False,
            "include_local_variables": False,
            # No PII: sentry-sdk's default (the send_default_pii option is deprecated).
            "before_send": _before_send,
            "traces_sample_rate": 1.0 if rate == "errors" else rate,
            "before_send_transaction": _only_errored if rate == "errors" else _transaction,
        }
        sentry_sdk.init(**options)
        if rate == "errors" or rate > 0:
            tracing.enable()
        self._client = sentry_sdk.get_client()
        self.captured = 0
        self.suppressed = 0
        self._minute = 0
        self._sent_this_minute: dict[tuple[str, ...], int] = {}

    def failure(self, report: FailureReport) -> None:
        """Capture one monkey failure."""
        if self._closing:
            return
        secrets = report.secrets
        context = report.context
        if not self._allow(report):
            return
        with sentry_sdk.new_scope() as scope:
            scope.set_client(self._client)
            scope.set_tag("flock", report.flock or "(solitary)")
            scope.set_tag("business", report.business)
            scope.set_user({"username": report.monkey})
            tags: dict[str, str] = {}
            for key, tag in _TAG_KEYS.items():
                value = context.get(key)
                if value is not None and tag not in tags:
                    tags[tag] = redact_text(strip_ansi(str(value)), secrets)[:200]
            for tag, value in tags.items():
                scope.set_tag(tag, value)
            extra = {
                k: v for k, v in context.items() if k not in _TAG_KEYS and k not in _ATTACHMENT_KEYS
            }
            if extra:
                scope.set_context("mobu", redact_value(extra, secrets))
            self._attach(scope, report)
            self._capture(scope, report.error, secrets)

    def _allow(self, report: FailureReport) -> bool:
        """At most ``max_events_per_minute`` events per root cause (cheap: no traceback walk)."""
        minute = int(time.monotonic() // 60)
        if minute != self._minute:
            self._minute = minute
            self._sent_this_minute.clear()
        context = report.context
        key = (
            report.flock or "",
            report.business,
            str(context.get("notebook", "")),
            str(context.get("cell") or context.get("cell_id") or ""),
        )
        sent = self._sent_this_minute.get(key, 0)
        if sent >= self.config.max_events_per_minute:
            self.suppressed += 1
            return False
        self._sent_this_minute[key] = sent + 1
        return True

    def api_error(self, method: str, path: str, error: BaseException) -> None:
        """Capture an uncaught exception of a REST API handler."""
        if self._closing:
            return
        with sentry_sdk.new_scope() as scope:
            scope.set_client(self._client)
            scope.set_tag("route", f"{method} {path}")
            scope.fingerprint = ["api", method, path]
            self._capture(scope, error, ())

    def _attach(self, scope: sentry_sdk.Scope, report: FailureReport) -> None:
        limit = self.config.attach_max_bytes
        trace = "".join(traceback.format_exception(report.error))
        text = redact_text(strip_ansi(trace), report.secrets)
        scope.add_attachment(
            bytes=text.encode()[-limit:], filename="traceback.txt", content_type="text/plain"
        )
        attached: set[str] = set()
        for key, filename in _ATTACHMENT_KEYS.items():
            value = report.context.get(key)
            if not value or filename in attached:
                continue
            attached.add(filename)
            if isinstance(value, list | tuple):
                value = "\n".join(str(v) for v in value)
            data = redact_text(strip_ansi(str(value)), report.secrets).encode()
            scope.add_attachment(bytes=data[-limit:], filename=filename, content_type="text/plain")

    def _capture(
        self, scope: sentry_sdk.Scope, error: BaseException, secrets: tuple[str, ...]
    ) -> None:
        event, hint = event_from_exception(
            error,
            client_options=self._client.options,
            mechanism={"type": "mobu", "handled": True},
        )
        event = redact_value(event, secrets)
        event["level"] = "error"
        scope.capture_event(event, hint=hint)
        self.captured += 1

    async def flush(self, timeout: float = 5.0) -> None:
        """Wait (in a thread) until queued events were sent."""
        await asyncio.to_thread(self._client.flush, timeout)

    async def aclose(self, timeout: float = 5.0) -> None:
        """Stop capturing, send what is queued (bounded) and close the client."""
        self._closing = True
        tracing.disable()
        try:
            await asyncio.wait_for(asyncio.to_thread(self._client.close, timeout), timeout + 1)
        except TimeoutError:
            self._logger.warning("Closing the Sentry client timed out")

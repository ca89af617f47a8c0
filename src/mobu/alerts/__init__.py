"""Alert channels (Slack webhook, Sentry; optional, non-blocking) and the failure-report API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from mobu.alerts.config import AlertsConfig, SentryConfig, SlackConfig
from mobu.alerts.reporting import FailureReport, FailureReporter, Reporters
from mobu.alerts.sentry import SentryReporter
from mobu.alerts.slack import SlackAlerter

__all__ = [
    "AlertsConfig",
    "ApiErrorReporter",
    "FailureReport",
    "FailureReporter",
    "Reporters",
    "SentryConfig",
    "SentryReporter",
    "SlackAlerter",
    "SlackConfig",
    "report_api_error",
]


class ApiErrorReporter(Protocol):
    """Something that reports uncaught API errors."""

    def api_error(self, method: str, path: str, error: BaseException) -> None:
        """Report one."""


def report_api_error(
    reporters: Iterable[ApiErrorReporter], method: str, path: str, error: BaseException
) -> None:
    """Report an uncaught REST API exception to each of ``reporters``; never raises.

    The API's catch-all exception handler calls it through the process context
    (``context.observability.report_api_error(method, path, exc)``).
    """
    for reporter in reporters:
        try:
            reporter.api_error(method, path, error)
        except Exception:  # noqa: BLE001, S112 - reporting must not turn a 500 into a crash
            continue

"""Alert channels: Slack incoming webhook and Sentry. Both optional, both non-blocking."""

from __future__ import annotations

from typing import Any, Protocol

from mobu.alerts.config import AlertsConfig, SentryConfig, SlackConfig
from mobu.alerts.sentry import SentryReporter
from mobu.alerts.slack import SlackAlerter

__all__ = [
    "AlertsConfig",
    "ApiErrorReporter",
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


def report_api_error(state: Any, method: str, path: str, error: BaseException) -> None:
    """Report an uncaught REST API exception to every configured channel; never raises.

    For the API's catch-all exception handler: ``report_api_error(request.app.state,
    request.method, request.url.path, exc)``. ``state.context`` is the process context; when it
    has no observability (or no alert channel), nothing happens.
    """
    observability = getattr(getattr(state, "context", None), "observability", None)
    reporters: list[ApiErrorReporter] = list(getattr(observability, "api_reporters", []))
    for reporter in reporters:
        try:
            reporter.api_error(method, path, error)
        except Exception:  # noqa: BLE001, S112 - reporting must not turn a 500 into a crash
            continue

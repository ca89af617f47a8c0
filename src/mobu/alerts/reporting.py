"""Where monkey failures are reported (implementations: Slack, Sentry, in alerts modules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["FailureReport", "FailureReporter", "Reporters"]


@dataclass(slots=True)
class FailureReport:
    """One monkey failure, as reporters see it."""

    flock: str | None
    monkey: str
    business: str
    error: BaseException
    context: dict[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Credentials of the monkey (its token), for reporters to redact; never sent."""


class FailureReporter(Protocol):
    """Receives monkey failures. Must not block or raise; recovery is seen through events."""

    def failure(self, report: FailureReport) -> None:
        """A monkey failed."""


class Reporters:
    """Fan-out to every configured reporter; never raises."""

    def __init__(self, reporters: list[FailureReporter] | None = None) -> None:
        self.reporters = list(reporters or [])

    def add(self, reporter: FailureReporter) -> None:
        """Add a reporter."""
        self.reporters.append(reporter)

    def failure(self, report: FailureReport) -> None:
        """Report a failure to every reporter."""
        for reporter in self.reporters:
            try:
                reporter.failure(report)
            except Exception:  # noqa: BLE001, S112 - alerting must never break a monkey
                continue

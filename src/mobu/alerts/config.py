"""The ``alerts:`` configuration section: Slack incoming webhook and Sentry. Both optional."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from mobu.models.timedelta import HumanTimedelta

__all__ = ["AlertsConfig", "SentryConfig", "SlackConfig", "TracesSampleConfig"]

_URL = TypeAdapter(AnyHttpUrl)

TracesSampleConfig = float | Literal["errors"]
"""Sentry traces: a sample rate (0..1), or ``errors`` (only transactions tagged errored=true)."""


class SlackConfig(BaseModel):
    """Slack (or Mattermost) incoming webhook."""

    model_config = ConfigDict(extra="forbid")

    webhook: SecretStr = Field(
        ...,
        description="Incoming webhook URL (a secret: the URL is the credential)",
        examples=["https://hooks.slack.com/services/T000/B000/abcdef"],
    )
    dedup_window: HumanTimedelta = Field(
        timedelta(minutes=30),
        description=(
            "Failures with the same root cause (flock, error type, notebook, cell) within this"
            " window give one alert, then one message with their count"
        ),
    )
    failures: bool = Field(True, description="Alert on monkey failures")
    recovery: bool = Field(True, description="Say when a flock with open alerts succeeds again")
    api_errors: bool = Field(True, description="Report uncaught errors of the REST API")
    status_interval: HumanTimedelta | None = Field(
        timedelta(days=1),
        description="Status summary of every flock, first one this long after start; null: off",
    )
    code_max_chars: int = Field(
        800, ge=80, description="Code and output shown in an alert are truncated to this length"
    )
    timeout: HumanTimedelta = Field(timedelta(seconds=10), description="Timeout of each post")
    queue_size: int = Field(100, ge=1, description="Messages waiting; beyond it they are dropped")

    @model_validator(mode="after")
    def _check_url(self) -> SlackConfig:
        try:
            _URL.validate_python(self.webhook.get_secret_value())
        except ValidationError:
            # the URL is the credential: do not echo it in the error
            raise ValueError("webhook must be an http(s) URL") from None
        return self


class SentryConfig(BaseModel):
    """Sentry (or a Sentry-compatible server such as GlitchTip or bugsink)."""

    model_config = ConfigDict(extra="forbid")

    dsn: SecretStr = Field(..., description="DSN of the Sentry project")
    environment: str = Field("production", description="Sentry environment")
    release: str | None = Field(None, description="Release reported with events")
    traces_sample_rate: TracesSampleConfig = Field(
        0.0,
        description=(
            "Fraction of traces sent (0..1), or 'errors': only transactions tagged errored=true"
        ),
    )
    attach_max_bytes: int = Field(
        100_000, ge=1024, description="Size limit of each attachment (spawn log, traceback)"
    )
    max_events_per_minute: int = Field(
        10,
        ge=1,
        description=(
            "Events sent per root cause (flock, business, notebook, cell) per minute; a failure"
            " storm of thousands of monkeys must not cost the event loop (the rest are counted)"
        ),
    )

    @model_validator(mode="after")
    def _check_rate(self) -> SentryConfig:
        rate = self.traces_sample_rate
        if isinstance(rate, float) and not 0 <= rate <= 1:
            raise ValueError("traces_sample_rate must be between 0 and 1, or 'errors'")
        return self


class AlertsConfig(BaseModel):
    """The ``alerts:`` section; with neither channel, failures are only logged."""

    model_config = ConfigDict(extra="forbid")

    slack: SlackConfig | None = Field(None, description="Slack incoming webhook")
    sentry: SentryConfig | None = Field(None, description="Sentry")

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, data: Any) -> Any:
        return {} if data is None else data

    def with_reference(
        self,
        *,
        slack_alerts: bool,
        alert_hook: SecretStr | None,
        sentry_dsn: SecretStr | None,
        sentry_environment: str | None,
        sentry_release: str | None,
        traces_sample_config: TracesSampleConfig,
    ) -> AlertsConfig:
        """Fill the channels this section leaves out from the reference's settings.

        ``slackAlerts`` with ``MOBU_ALERT_HOOK`` gives Slack (the project's defaults for the
        rest); ``MOBU_SENTRY_DSN`` gives Sentry with ``sentryEnvironment``, ``SENTRY_RELEASE``
        and ``sentryTracesSampleConfig``. A channel this section configures itself wins whole.

        Raises
        ------
        ValueError
            The hook is not an http(s) URL (the message does not quote it).
        """
        update: dict[str, Any] = {}
        if self.slack is None and slack_alerts and alert_hook is not None:
            try:
                update["slack"] = SlackConfig(webhook=alert_hook)
            except ValidationError:
                raise ValueError("MOBU_ALERT_HOOK must be an http(s) URL") from None
        if self.sentry is None and sentry_dsn is not None:
            sentry: dict[str, Any] = {"dsn": sentry_dsn, "traces_sample_rate": traces_sample_config}
            if sentry_environment:
                sentry["environment"] = sentry_environment
            if sentry_release:
                sentry["release"] = sentry_release
            update["sentry"] = SentryConfig.model_validate(sentry)
        return self.model_copy(update=update) if update else self

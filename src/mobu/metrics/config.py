"""The ``metrics:`` configuration section: the reference's app-metrics events, and Prometheus.

The reference's keys (``enabled``, ``application``/``appName``, ``mock``, ``events``,
``schemaManager``) are those of :class:`~mobu.sinks.config.AppMetricsConfig`: ``enabled`` means
"publish the reference's events to Kafka", as in the reference's chart. ``prometheus`` (default
true) serves ``GET /metrics``; the other keys tune it.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from mobu.models.timedelta import HumanTimedelta
from mobu.sinks.config import AppMetricsConfig

__all__ = ["DEFAULT_BUCKETS", "MetricsConfig"]

DEFAULT_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
)  # fmt: skip
"""Event duration buckets (seconds): 1 ms to 10 minutes (lab spawns are slow)."""


KAFKA_ENV = ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL")
"""Environment the Kafka connection needs (the chart sets them with ``metrics.enabled``)."""


class MetricsConfig(AppMetricsConfig):
    """The ``metrics:`` section: app-metrics events (reference keys) and Prometheus."""

    prometheus: bool = Field(True, description="Serve GET /metrics (Prometheus)")
    duration_buckets: list[float] = Field(
        default_factory=lambda: list(DEFAULT_BUCKETS),
        description="Upper bounds (seconds) of the event duration histogram buckets",
    )
    max_label_values: int = Field(
        200,
        ge=1,
        description="Distinct flock (and event) label values; further ones are labelled _other",
    )
    notebook_labels: bool = Field(
        False,
        description=(
            "Opt in to mobu_notebook_duration_seconds labelled by notebook (one series per"
            " notebook: keep off for large notebook repositories)"
        ),
    )
    event_loop_lag_interval: HumanTimedelta = Field(
        timedelta(seconds=1), description="How often the event-loop lag is sampled"
    )
    event_loop_lag_warning: HumanTimedelta = Field(
        timedelta(seconds=0.5),
        description=(
            "Log a warning (at most once a minute) when the event loop lags more than this:"
            " mobu itself, not the service under test, is the bottleneck"
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, data: Any) -> Any:
        return {} if data is None else data

    @model_validator(mode="after")
    def _kafka_settings(self) -> Self:
        """``enabled`` (without ``mock``) needs the Kafka environment and a schema registry."""
        if not self.enabled or self.mock:
            return self
        missing = [name for name in KAFKA_ENV if not os.environ.get(name)]
        if missing:
            raise ValueError(
                "metrics.enabled publishes to Kafka and needs the environment variables "
                + ", ".join(missing)
            )
        if not (self.schema_manager.registry_url or os.environ.get("SCHEMA_MANAGER_REGISTRY_URL")):
            raise ValueError("metrics.enabled needs metrics.schemaManager.registryUrl")
        return self

    @field_validator("duration_buckets")
    @classmethod
    def _sorted(cls, value: list[float]) -> list[float]:
        if not value or any(b <= 0 for b in value) or value != sorted(set(value)):
            raise ValueError("duration_buckets must be positive and strictly increasing")
        return value

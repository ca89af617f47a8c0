"""The ``events:`` configuration section: where events go besides the statistics."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.alias_generators import to_camel

from mobu.models.timedelta import HumanTimedelta

__all__ = [
    "AppMetricsConfig",
    "AppMetricsEventsConfig",
    "EventsConfig",
    "FileSinkConfig",
    "KafkaSinkConfig",
    "SchemaManagerConfig",
]

_CAMEL = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)
"""The reference's sections: camelCase keys, snake_case accepted too."""


class FileSinkConfig(BaseModel):
    """JSON-lines file of every event, rotated by size."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(
        ..., description="File to append events to", examples=["/var/log/mobu.jsonl"]
    )
    max_bytes: int = Field(
        100 * 1024 * 1024, ge=1024, description="Rotate when the file would exceed this size"
    )
    backups: int = Field(5, ge=0, description="Rotated files kept (path.1 is the newest)")


class KafkaSinkConfig(BaseModel):
    """Kafka producer (aiokafka): events as JSON on ``<topic_prefix>.<app_name>``."""

    model_config = ConfigDict(extra="forbid")

    bootstrap_servers: list[str] = Field(
        ..., min_length=1, description="Kafka bootstrap servers", examples=[["kafka:9092"]]
    )
    topic_prefix: str = Field(
        "lsst.square.metrics.events", description="Prefix of the topic (reference default)"
    )
    security_protocol: str = Field("PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT, ...")
    sasl_mechanism: str | None = Field(None, description="SASL mechanism, e.g. SCRAM-SHA-512")
    sasl_username: str | None = Field(None, description="SASL user name")
    sasl_password: SecretStr | None = Field(None, description="SASL password")
    request_timeout: HumanTimedelta = Field(
        timedelta(seconds=10), description="Timeout of connecting and of each send batch"
    )
    retry_backoff: HumanTimedelta = Field(
        timedelta(seconds=30),
        description="After a failure, drop events for this long before retrying",
    )


class EventsConfig(BaseModel):
    """The ``events:`` section. With no sinks, events only feed statistics and metrics."""

    model_config = ConfigDict(extra="forbid")

    app_name: str = Field("mobu", description="app_name field of every exported event")
    queue_size: int = Field(
        10_000, ge=1, description="Events buffered per sink; beyond it events are dropped (counted)"
    )
    batch_size: int = Field(500, ge=1, description="Events written per batch")
    file: FileSinkConfig | None = Field(None, description="JSON-lines file sink")
    kafka: KafkaSinkConfig | None = Field(None, description="Kafka sink")
    statistics_window: HumanTimedelta = Field(
        timedelta(minutes=5), description="Sliding window of the latency statistics"
    )

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, data: Any) -> Any:
        return {} if data is None else data


class AppMetricsEventsConfig(BaseModel):
    """``metrics.events`` of the reference."""

    model_config = _CAMEL

    topic_prefix: str = Field(
        "lsst.square.metrics.events",
        description="Kafka topic prefix; events go to <topic_prefix>.<application>",
    )

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, data: Any) -> Any:
        return {} if data is None else data


class SchemaManagerConfig(BaseModel):
    """``metrics.schemaManager`` of the reference: the Confluent-compatible schema registry."""

    model_config = _CAMEL

    registry_url: str | None = Field(
        None,
        description="Schema registry URL (else SCHEMA_MANAGER_REGISTRY_URL)",
        examples=["http://sasquatch-schema-registry.sasquatch.svc.cluster.local:8081"],
    )
    suffix: str = Field("", description="Suffix of the schema (subject) names, e.g. _dev")

    @model_validator(mode="before")
    @classmethod
    def _empty(cls, data: Any) -> Any:
        return {} if data is None else data


class AppMetricsConfig(BaseModel):
    """The reference's keys of ``metrics:``: its events, published through safir.metrics.

    ``enabled`` publishes to Kafka (connection from the ``KAFKA_*`` environment, schemas in the
    registry of ``schema_manager``); ``mock`` uses safir's mock manager (publishers record
    what they were given). Either one adds the ``app_metrics`` event sink.
    """

    model_config = _CAMEL

    enabled: bool = Field(False, description="Publish the reference's events to Kafka")
    application: str = Field(
        "mobu",
        validation_alias=AliasChoices("application", "appName", "app_name"),
        description="Application name of the events (and the topic suffix); alias appName",
    )
    mock: bool = Field(False, description="Use safir's mock event manager (tests)")
    events: AppMetricsEventsConfig = Field(default_factory=AppMetricsEventsConfig)
    schema_manager: SchemaManagerConfig = Field(default_factory=SchemaManagerConfig)
    retry_backoff: HumanTimedelta = Field(
        timedelta(seconds=30),
        description="After Kafka or the registry failed, drop events for this long, then retry",
    )
    request_timeout: HumanTimedelta = Field(
        timedelta(seconds=10), description="Timeout of each Kafka request (connect, metadata)"
    )
    queue_size: int = Field(
        10_000, ge=1, description="Events buffered; beyond it events are dropped (counted)"
    )

    @property
    def publishes(self) -> bool:
        """Whether the ``app_metrics`` sink is wanted."""
        return self.enabled or self.mock

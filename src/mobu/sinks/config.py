"""The ``events:`` configuration section: where events go besides the statistics."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from mobu.models.timedelta import HumanTimedelta

__all__ = ["EventsConfig", "FileSinkConfig", "KafkaSinkConfig"]


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

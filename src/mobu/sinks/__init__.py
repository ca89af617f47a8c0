"""Event sinks: every event goes through a bounded queue to a file, Kafka or memory.

A slow or failing sink never slows a monkey: :class:`QueuedSink` drops (and counts) what it
cannot keep up with.
"""

from __future__ import annotations

from structlog.typing import FilteringBoundLogger

from mobu.sinks.config import EventsConfig, FileSinkConfig, KafkaSinkConfig
from mobu.sinks.jsonl import JsonLinesBackend
from mobu.sinks.kafka import KafkaBackend
from mobu.sinks.memory import MemoryBackend
from mobu.sinks.queue import QueuedSink, SinkBackend

__all__ = [
    "EventsConfig",
    "FileSinkConfig",
    "JsonLinesBackend",
    "KafkaBackend",
    "KafkaSinkConfig",
    "MemoryBackend",
    "QueuedSink",
    "SinkBackend",
    "build_sinks",
]


def build_sinks(config: EventsConfig, logger: FilteringBoundLogger) -> list[QueuedSink]:
    """Build the queued sinks the configuration asks for (not started)."""
    backends: list[SinkBackend] = []
    if config.file is not None:
        backends.append(JsonLinesBackend(config.file))
    if config.kafka is not None:
        backends.append(KafkaBackend(config.kafka, config.app_name))
    return [
        QueuedSink(
            backend,
            app_name=config.app_name,
            queue_size=config.queue_size,
            batch_size=config.batch_size,
            logger=logger,
        )
        for backend in backends
    ]

"""Event sinks: every event goes through a bounded queue to a file, Kafka, app metrics or memory.

The app-metrics sink (:mod:`mobu.sinks.appmetrics`, the reference's events through
safir.metrics) is imported only when ``metrics.enabled`` or ``metrics.mock`` asks for it.
A slow or failing sink never slows a monkey: :class:`QueuedSink` drops (and counts) what it
cannot keep up with.
"""

from __future__ import annotations

from structlog.typing import FilteringBoundLogger

from mobu.sinks.config import AppMetricsConfig, EventsConfig, FileSinkConfig, KafkaSinkConfig
from mobu.sinks.jsonl import JsonLinesBackend
from mobu.sinks.kafka import KafkaBackend
from mobu.sinks.memory import MemoryBackend
from mobu.sinks.queue import EventBackend, QueuedSink, SinkBackend

__all__ = [
    "AppMetricsConfig",
    "EventBackend",
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


def build_sinks(
    config: EventsConfig,
    logger: FilteringBoundLogger,
    app_metrics: AppMetricsConfig | None = None,
) -> list[QueuedSink]:
    """Build the queued sinks the configuration asks for (not started).

    ``app_metrics`` is the ``metrics:`` section: with ``enabled`` or ``mock`` it adds the sink
    of the reference's events (safir.metrics).
    """
    backends: list[SinkBackend | EventBackend] = []
    if config.file is not None:
        backends.append(JsonLinesBackend(config.file))
    if config.kafka is not None:
        backends.append(KafkaBackend(config.kafka, config.app_name))
    sinks = [
        QueuedSink(
            backend,
            app_name=config.app_name,
            queue_size=config.queue_size,
            batch_size=config.batch_size,
            logger=logger,
        )
        for backend in backends
    ]
    if app_metrics is not None and app_metrics.publishes:
        # Imported here: safir.metrics (faststream, aiokafka) takes seconds to import.
        from mobu.sinks.appmetrics import AppMetricsBackend

        sinks.append(
            QueuedSink(
                AppMetricsBackend.from_config(app_metrics, logger),
                app_name=app_metrics.application,
                queue_size=app_metrics.queue_size,
                batch_size=config.batch_size,
                logger=logger,
            )
        )
    return sinks

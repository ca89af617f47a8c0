"""App-metrics sink: the reference's events through safir.metrics (Kafka + Avro, or mock).

An :class:`~mobu.sinks.queue.EventBackend` behind the shared :class:`~mobu.sinks.QueuedSink`:
monkeys only append to its bounded queue; its writer task maps each event to the reference's
model (:mod:`mobu.sinks.appevents`) and publishes it with safir's ``EventManager``. safir is
asked to raise instead of swallowing failures, so that a broker or registry that is down costs
counted drops (reason ``error``), one connection attempt per ``retry_backoff``, and never a
monkey's time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Self, cast

from aiokafka import AIOKafkaProducer
from safir.kafka import KafkaConnectionSettings, SchemaManagerSettings
from safir.metrics import (
    EventManager,
    EventPayload,
    EventPublisher,
    EventsConfiguration,
    KafkaMetricsConfiguration,
    MockEventPublisher,
    MockMetricsConfiguration,
)
from structlog.stdlib import BoundLogger
from structlog.typing import FilteringBoundLogger

from mobu.exceptions import MobuError
from mobu.sinks.appevents import REFERENCE_EVENTS, derived_payload
from mobu.sinks.config import AppMetricsConfig
from mobu.sinks.queue import QueuedEvent

__all__ = [
    "AppMetricsBackend",
    "AppMetricsUnavailableError",
    "kafka_probe",
    "make_event_manager",
]


class AppMetricsUnavailableError(MobuError):
    """Kafka or the schema registry failed recently; events are dropped until the backoff ends."""


def make_event_manager(config: AppMetricsConfig, logger: FilteringBoundLogger) -> EventManager:
    """Build safir's event manager for the configuration: mock, or Kafka from the environment.

    The Kafka connection comes from the ``KAFKA_*`` variables (read by safir's
    ``KafkaConnectionSettings``), the registry from ``schema_manager`` (else
    ``SCHEMA_MANAGER_REGISTRY_URL``). Errors are raised, not swallowed (``raise_on_error``).
    safir logs through ``logger`` (mobu's, so its level applies: safir logs each event at debug).
    """
    safir_logger = cast("BoundLogger", logger.bind(sink="app_metrics"))
    events = EventsConfiguration(topic_prefix=config.events.topic_prefix)
    if config.mock:
        mock = MockMetricsConfiguration(
            application=config.application, enabled=False, mock=True, events=events
        )
        return mock.make_manager(safir_logger)
    registry: dict[str, Any] = {"suffix": config.schema_manager.suffix}
    if config.schema_manager.registry_url:
        registry["registry_url"] = config.schema_manager.registry_url
    kafka = KafkaMetricsConfiguration(
        application=config.application,
        events=events,
        kafka=KafkaConnectionSettings(),  # from the environment
        schema_manager=SchemaManagerSettings(**registry),
        raise_on_error=True,
        backoff_interval=config.retry_backoff,
    )
    timeout_ms = int(config.request_timeout.total_seconds() * 1000)
    return kafka.make_manager(safir_logger, request_timeout_ms=timeout_ms)


def kafka_probe(config: AppMetricsConfig) -> Callable[[], Awaitable[None]]:
    """Returns a check that the brokers of the ``KAFKA_*`` environment answer.

    A producer is started and stopped: faststream does not close the producer of a broker
    whose start failed, so the manager is only initialised once the brokers answered.
    """
    timeout = config.request_timeout.total_seconds()

    async def probe() -> None:
        params = KafkaConnectionSettings().to_aiokafka_params()
        producer = AIOKafkaProducer(
            **params, request_timeout_ms=int(timeout * 1000), client_id="mobu-probe"
        )
        try:
            async with asyncio.timeout(timeout):
                await producer.start()
        finally:
            try:
                async with asyncio.timeout(timeout):
                    await producer.stop()
            except Exception:  # noqa: BLE001, S110 - a producer that cannot stop is abandoned
                pass

    return probe


class AppMetricsBackend:
    """Publishes each event as the reference's event through a safir ``EventManager``.

    The manager is built (``make_manager``) and initialised on the first batch; publishers are
    created per event name on first use (registering the Avro schema). Any failure closes the
    manager and refuses batches for ``retry_backoff``; the next batch after it builds a new one.

    Parameters
    ----------
    make_manager
        Builds a fresh event manager.
    probe
        Checked before each new manager is initialised (Kafka: :func:`kafka_probe`).
    retry_backoff
        How long batches are refused after a failure.
    close_timeout
        Longest closing a manager may take.
    """

    name = "app_metrics"

    def __init__(
        self,
        make_manager: Callable[[], EventManager],
        *,
        probe: Callable[[], Awaitable[None]] | None = None,
        retry_backoff: timedelta = timedelta(seconds=30),
        close_timeout: timedelta = timedelta(seconds=5),
    ) -> None:
        self._make_manager = make_manager
        self._probe = probe
        self._backoff = retry_backoff.total_seconds()
        self._close_timeout = close_timeout.total_seconds()
        self._manager: EventManager | None = None
        self._publishers: dict[str, EventPublisher[Any]] = {}
        self._models: dict[str, tuple[str, type[EventPayload]] | None] = {}
        self._retry_at = 0.0
        self.connect_attempts = 0
        self.connecting = False
        self.skipped: dict[str, int] = {}
        """Events not published, by name: no flat model, or a payload the model refuses."""

    def publisher(self, name: str) -> EventPublisher[Any] | None:
        """The publisher of the reference's event ``name``, once one was created."""
        return self._publishers.get(name)

    def published(self, name: str) -> list[Any]:
        """The payloads a mock publisher recorded for ``name`` (``metrics.mock``)."""
        publisher = self._publishers.get(name)
        if isinstance(publisher, MockEventPublisher):
            return list(publisher.published)
        return []

    @classmethod
    def from_config(cls, config: AppMetricsConfig, logger: FilteringBoundLogger) -> Self:
        """The backend of the ``metrics:`` section (``mock``, else Kafka)."""
        return cls(
            lambda: make_event_manager(config, logger),
            probe=None if config.mock else kafka_probe(config),
            retry_backoff=config.retry_backoff,
        )

    async def write_events(self, events: list[QueuedEvent]) -> None:
        """Publish a batch; on any failure close the manager and raise (the batch is dropped)."""
        manager = await self._connected()
        try:
            for event in events:
                await self._publish(manager, event)
        except Exception:
            await self._disconnect()
            raise

    async def _publish(self, manager: EventManager, event: QueuedEvent) -> None:
        target = self._target(event)
        if target is None:
            self.skipped[event.name] = self.skipped.get(event.name, 0) + 1
            return
        name, model = target
        fields = event.payload.model_dump(include=set(model.model_fields))
        try:
            payload = model.model_validate(fields)
        except ValueError:
            self.skipped[event.name] = self.skipped.get(event.name, 0) + 1
            return
        publisher = self._publishers.get(name)
        if publisher is None:
            publisher = await manager.create_publisher(name, model)
            self._publishers[name] = publisher
        await publisher.publish(payload)

    def _target(self, event: QueuedEvent) -> tuple[str, type[EventPayload]] | None:
        if event.name in self._models:
            return self._models[event.name]
        reference = REFERENCE_EVENTS.get(event.name)
        target: tuple[str, type[EventPayload]] | None
        if reference is not None:
            target = reference
        else:
            derived = derived_payload(type(event.payload))
            target = None if derived is None else (event.name, derived)
        self._models[event.name] = target
        return target

    async def _connected(self) -> EventManager:
        if self._manager is not None:
            return self._manager
        if time.monotonic() < self._retry_at:
            raise AppMetricsUnavailableError("App metrics unavailable; waiting before retrying")
        self.connect_attempts += 1
        self.connecting = True
        manager: EventManager | None = None
        try:
            if self._probe is not None:
                await self._probe()
            manager = self._make_manager()
            await manager.initialize()
        except BaseException:
            self._retry_at = time.monotonic() + self._backoff
            if manager is not None:
                await self._close(manager)
            raise
        finally:
            self.connecting = False
        self._manager = manager
        return manager

    async def _disconnect(self) -> None:
        manager, self._manager = self._manager, None
        self._publishers = {}
        self._retry_at = time.monotonic() + self._backoff
        if manager is not None:
            await self._close(manager)

    async def _close(self, manager: EventManager) -> None:
        try:
            async with asyncio.timeout(self._close_timeout):
                await manager.aclose()
        except Exception:  # noqa: BLE001, S110 - a manager that cannot close is abandoned
            pass

    async def aclose(self) -> None:
        """Close the event manager (its Kafka clients)."""
        manager, self._manager = self._manager, None
        if manager is not None:
            await self._close(manager)

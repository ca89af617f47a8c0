"""Kafka sink backend (aiokafka): events as JSON on ``<topic_prefix>.<app_name>``."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiokafka import AIOKafkaProducer

from mobu.exceptions import MobuError
from mobu.sinks.config import KafkaSinkConfig

__all__ = ["KafkaBackend", "KafkaUnavailableError"]


class KafkaUnavailableError(MobuError):
    """The Kafka producer could not connect recently; events are dropped until the backoff ends."""


class KafkaBackend:
    """Produces each event as one JSON message, keyed by event name.

    The producer connects on the first batch. When connecting or sending fails, the producer is
    closed and batches are refused (and counted as dropped by the queue) for ``retry_backoff``,
    so an unreachable broker costs one connection attempt per backoff period, never a monkey's
    time.
    """

    name = "kafka"

    def __init__(self, config: KafkaSinkConfig, app_name: str) -> None:
        self.config = config
        self.topic = f"{config.topic_prefix}.{app_name}"
        self._producer: AIOKafkaProducer | None = None
        self._retry_at = 0.0
        self.connect_attempts = 0

    async def write(self, records: list[dict[str, Any]]) -> None:
        """Send a batch and wait for the broker's acknowledgements."""
        producer = await self._connected()
        try:
            futures = [
                await producer.send(
                    self.topic,
                    value=json.dumps(r, separators=(",", ":"), default=str).encode(),
                    key=str(r.get("event", "")).encode(),
                )
                for r in records
            ]
            await asyncio.gather(*futures)
        except Exception:
            await self._disconnect()
            raise

    async def _connected(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        if time.monotonic() < self._retry_at:
            raise KafkaUnavailableError("Kafka unavailable; waiting before reconnecting")
        config = self.config
        timeout_ms = int(config.request_timeout.total_seconds() * 1000)
        producer = AIOKafkaProducer(
            bootstrap_servers=config.bootstrap_servers,
            security_protocol=config.security_protocol,
            sasl_mechanism=config.sasl_mechanism or "PLAIN",
            sasl_plain_username=config.sasl_username,
            sasl_plain_password=(
                config.sasl_password.get_secret_value() if config.sasl_password else None
            ),
            request_timeout_ms=timeout_ms,
            client_id="mobu",
        )
        self.connect_attempts += 1
        try:
            async with asyncio.timeout(config.request_timeout.total_seconds()):
                await producer.start()
        except BaseException:
            self._retry_at = time.monotonic() + config.retry_backoff.total_seconds()
            await self._stop(producer)
            raise
        self._producer = producer
        return producer

    async def _disconnect(self) -> None:
        producer, self._producer = self._producer, None
        self._retry_at = time.monotonic() + self.config.retry_backoff.total_seconds()
        if producer is not None:
            await self._stop(producer)

    async def _stop(self, producer: AIOKafkaProducer) -> None:
        try:
            async with asyncio.timeout(self.config.request_timeout.total_seconds()):
                await producer.stop()
        except Exception:  # noqa: BLE001, S110 - a producer that cannot stop is abandoned
            pass

    async def aclose(self) -> None:
        """Flush and stop the producer."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await self._stop(producer)

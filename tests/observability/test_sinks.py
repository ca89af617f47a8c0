"""Event sinks: JSON-lines rotation, slow and failing sinks never slow a monkey, Kafka down."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from mobu.sinks import (
    FileSinkConfig,
    JsonLinesBackend,
    KafkaBackend,
    KafkaSinkConfig,
    MemoryBackend,
    QueuedSink,
)
from tests.observability.conftest import flock, process


class StuckBackend:
    """A sink whose writes never finish (a hung broker)."""

    name = "stuck"

    def __init__(self) -> None:
        self.never = asyncio.Event()
        self.started = asyncio.Event()

    async def write(self, records: list[dict[str, Any]]) -> None:
        self.started.set()
        await self.never.wait()

    async def aclose(self) -> None:
        return None


class BrokenBackend:
    """A sink whose writes always fail."""

    name = "broken"

    def __init__(self) -> None:
        self.calls = 0

    async def write(self, records: list[dict[str, Any]]) -> None:
        self.calls += 1
        raise ConnectionError("backend is down")

    async def aclose(self) -> None:
        return None


def _logger() -> Any:
    return structlog.get_logger("mobu-test")


def _metric(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


async def test_jsonl_rotation(tmp_path: Path) -> None:
    """Events of a real flock go to a JSON-lines file, rotated by size, keeping N backups."""
    path = tmp_path / "events.jsonl"
    backend = JsonLinesBackend(FileSinkConfig(path=path, max_bytes=4096, backups=2))
    sink = QueuedSink(backend, logger=_logger(), batch_size=7)
    async with process() as context:
        context.observability.add_sink(sink, context.events)
        sink.start()
        assert context.events.recorder is not None
        await context.manager.start_flock(flock("files", "EmptyLoop", count=2, idle_time=0))
        await context.events.recorder.wait_for("empty_loop", 400)
        await context.manager.stop_flock("files")
        await sink.flush()
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    assert all(f.stat().st_size <= 4096 for f in files)
    records = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert sink.written >= 400
    assert sink.dropped == {"full": 0, "error": 0}
    record = records[-1]
    assert set(record) == {
        "id", "event", "app_name", "timestamp", "timestamp_ns",
        "flock", "username", "business", "success",
    }  # fmt: skip
    assert record["event"] == "empty_loop"
    assert record["flock"] == "files"
    assert record["business"] == "EmptyLoop"
    assert record["username"].startswith("bot-mobu-files")
    assert len({r["id"] for r in records}) == len(records)


async def test_stuck_sink_never_slows_monkeys() -> None:
    """A hung sink: monkeys keep iterating, overflow is dropped and counted, stop is prompt."""
    backend = StuckBackend()
    sink = QueuedSink(
        backend,
        logger=_logger(),
        queue_size=50,
        batch_size=10,
        drain_timeout=timedelta(seconds=0.2),
        log_interval=timedelta(hours=1),
    )
    memory = MemoryBackend()
    healthy = QueuedSink(memory, logger=_logger())
    with capture_logs() as logs:
        async with process() as context:
            context.observability.add_sink(sink, context.events)
            context.observability.add_sink(healthy, context.events)
            sink.start()
            healthy.start()
            assert context.events.recorder is not None
            await context.manager.start_flock(flock("stuck", "EmptyLoop", count=2, idle_time=0))
            await backend.started.wait()
            await context.events.recorder.wait_for("empty_loop", 2000)
            (summary,) = context.manager.summarize_flocks()
            assert summary.success_count >= 2000
            assert sink.dropped["full"] >= 2000 - 60
            assert sink.queued == 50
            await memory.wait_for(2000)
            assert context.observability.metrics is not None
            text = context.observability.metrics.render().decode()
            dropped = _metric(text, "mobu_event_sink_dropped_total", sink="stuck", reason="full")
            assert dropped is not None
            assert dropped >= 2000 - 60
            assert _metric(text, "mobu_event_sink_queued", sink="stuck") == 50
            await context.manager.stop_flock("stuck")
        # leaving the context closed the sink: the stuck write was abandoned
    warnings = [e for e in logs if e["event"] == "Events dropped" and e.get("sink") == "stuck"]
    assert len(warnings) == 1


async def test_failing_sink_counts_errors() -> None:
    """A sink that raises loses its batches (counted as errors); monkeys are unaffected."""
    backend = BrokenBackend()
    sink = QueuedSink(backend, logger=_logger(), batch_size=25)
    async with process() as context:
        context.observability.add_sink(sink, context.events)
        sink.start()
        assert context.events.recorder is not None
        await context.manager.start_flock(flock("broken", "EmptyLoop", idle_time=0))
        await context.events.recorder.wait_for("empty_loop", 500)
        await context.manager.stop_flock("broken")
        await sink.flush()
        published = context.events.recorder.count("empty_loop")
        assert sink.dropped["error"] == published
        assert sink.written == 0
        assert backend.calls >= published // 25


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_kafka_unreachable_broker() -> None:
    """No broker installs here: with the broker unreachable, events are dropped and counted,
    one connection attempt is made per backoff period, and closing is prompt."""
    config = KafkaSinkConfig(
        bootstrap_servers=[f"127.0.0.1:{_closed_port()}"],
        request_timeout=timedelta(seconds=3),
        retry_backoff=timedelta(hours=1),
    )
    backend = KafkaBackend(config, "mobu")
    assert backend.topic == "lsst.square.metrics.events.mobu"
    sink = QueuedSink(backend, logger=_logger(), batch_size=50)
    async with process() as context:
        context.observability.add_sink(sink, context.events)
        sink.start()
        assert context.events.recorder is not None
        await context.manager.start_flock(flock("kafka", "EmptyLoop", idle_time=0))
        await context.events.recorder.wait_for("empty_loop", 500)
        (summary,) = context.manager.summarize_flocks()
        assert summary.success_count >= 500
        await context.manager.stop_flock("kafka")
        await sink.flush()
        assert sink.dropped["error"] == context.events.recorder.count("empty_loop")
        assert backend.connect_attempts == 1

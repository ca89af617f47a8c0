"""The reference's app-metrics events through safir.metrics: keys, Avro schemas, mock, Kafka down.

No Kafka broker or schema registry installs here, so the payloads and their Avro schemas are
checked through safir's mock manager and its schema generation, and a broker that is down (a
closed port, or one that accepts and never answers) must cost drops, never a monkey's time.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dataclasses_avroschema import AvroModel
from prometheus_client.parser import text_string_to_metric_families

from mobu.config import ConfigError, load_config
from mobu.events import Events
from mobu.services.builder import null_logger
from mobu.services.business.labsession import NubladoDeleteLab, NubladoSpawnLab
from mobu.services.business.notebookrunner import NotebookCellExecution
from mobu.services.business.tap import TapQuery
from mobu.sinks import QueuedSink
from mobu.sinks.appevents import REFERENCE_EVENTS, NotebookExecution
from mobu.sinks.appmetrics import AppMetricsBackend
from mobu.sinks.config import AppMetricsConfig
from tests.observability.conftest import flock, process

ATTRS = {"flock": "f", "username": "bot-mobu-1", "business": "B"}

KAFKA_ENV = {"KAFKA_BOOTSTRAP_SERVERS": "", "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _app_sink(sinks: list[QueuedSink]) -> tuple[QueuedSink, AppMetricsBackend]:
    (sink,) = [s for s in sinks if s.name == "app_metrics"]
    assert isinstance(sink.backend, AppMetricsBackend)
    return sink, sink.backend


def _metric(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_reference_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chart's metrics keys load in camelCase or snake_case; enabled needs Kafka's env."""
    path = tmp_path / "mobu.yaml"
    path.write_text(
        "metrics:\n  enabled: false\n  appName: mobu-idfdev\n  events:\n"
        "    topicPrefix: lsst.square.metrics.events\n  schemaManager:\n"
        "    registryUrl: http://registry.example:8081\n    suffix: _dev\n"
    )
    metrics = load_config(path).metrics
    assert (metrics.enabled, metrics.mock, metrics.prometheus) == (False, False, True)
    assert metrics.application == "mobu-idfdev"
    assert metrics.events.topic_prefix == "lsst.square.metrics.events"
    assert metrics.schema_manager.registry_url == "http://registry.example:8081"
    assert metrics.schema_manager.suffix == "_dev"
    snake = AppMetricsConfig.model_validate(
        {"application": "a", "schema_manager": {"registry_url": "http://r"}, "mock": True}
    )
    assert (snake.application, snake.schema_manager.registry_url, snake.publishes) == (
        "a", "http://r", True,
    )  # fmt: skip
    assert AppMetricsConfig.model_validate({"app_name": "b"}).application == "b"
    path.write_text("metrics:\n  enabled: true\n  prometheus: false\n")
    for name in KAFKA_ENV:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL"):
        load_config(path)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    with pytest.raises(ConfigError, match=r"metrics\.schemaManager\.registryUrl"):
        load_config(path)
    path.write_text("metrics:\n  enabled: true\n  schemaManager: {registryUrl: http://r:8081}\n")
    assert load_config(path).metrics.enabled
    path.write_text("metrics:\n  bogusKey: 1\n")
    with pytest.raises(ConfigError, match=r"metrics\.bogusKey"):
        load_config(path)


def test_reference_avro_schemas() -> None:
    """Every reference model is flat Avro primitives; durations are doubles (seconds)."""
    names = {name for name, _ in REFERENCE_EVENTS.values()}
    assert names == {
        "empty_loop", "muster", "tap_query", "sia_query", "git_lfs_check",
        "notebook_execution", "notebook_cell_execution", "nublado_python_execution",
        "nublado_spawn_lab", "nublado_delete_",
    }  # fmt: skip
    assert REFERENCE_EVENTS["nublado_delete_lab"][0] == "nublado_delete_"
    for _, model in REFERENCE_EVENTS.values():
        model.validate_structure()
    fields = {f["name"]: f["type"] for f in NotebookExecution.avro_schema_to_python()["fields"]}
    assert fields == {
        "flock": ["string", "null"],
        "username": "string",
        "business": "string",
        "notebook": "string",
        "repo": "string",
        "repo_ref": "string",
        "repo_hash": "string",
        "duration": [{"type": "double", "logicalType": "dataclasses-avroschema-timedelta"}, "null"],
        "success": "boolean",
    }


async def test_mock_manager_gets_reference_events() -> None:
    """Project events become the reference's (its names, its fields), serialisable to Avro."""
    events = Events()
    backend = AppMetricsBackend.from_config(
        AppMetricsConfig(mock=True, application="mobu-test"), null_logger()
    )
    sink = QueuedSink(backend, logger=null_logger())
    events.add_sink(sink)
    sink.start()
    second = timedelta(seconds=1.5)
    await events.publisher("nublado_delete_lab", NubladoDeleteLab).publish(
        NubladoDeleteLab(**ATTRS, success=True, duration=second)
    )
    await events.publisher("nublado_spawn_lab", NubladoSpawnLab).publish(
        NubladoSpawnLab(**ATTRS, success=False, duration=second)
    )
    await events.publisher("tap_query", TapQuery).publish(
        TapQuery(**ATTRS, success=True, duration=None, sync=False)
    )
    cell = {"notebook": "a.ipynb", "repo": "r", "repo_ref": "main", "repo_hash": "abc"}
    await events.publisher("notebook_cell_execution", NotebookCellExecution).publish(
        NotebookCellExecution(**ATTRS, **cell, cell_id="c1", success=True, duration=second)
    )
    await sink.flush()
    await sink.aclose()
    assert sink.written == 4
    assert backend.skipped == {}
    backend_names = {"nublado_delete_", "nublado_spawn_lab", "tap_query", "notebook_cell_execution"}
    assert all(backend.published(n) for n in backend_names)
    assert backend.published("nublado_delete_lab") == []
    (delete,) = backend.published("nublado_delete_")
    assert delete.model_dump() == {**ATTRS, "success": True, "duration": second}
    (query,) = backend.published("tap_query")
    assert query.model_dump() == {**ATTRS, "success": True, "duration": None, "sync": False}
    publisher = backend.publisher("notebook_cell_execution")
    assert publisher is not None
    (payload,) = backend.published("notebook_cell_execution")
    event = publisher.construct_event(payload)
    model: type[AvroModel] = type(event)
    schema = model.avro_schema_to_python()
    assert schema["name"] == "notebook_cell_execution"
    assert schema["namespace"] == "lsst.square.metrics.events.mobu-test"
    assert {"id", "application", "timestamp", "timestamp_ns", "cell_id"} <= {
        f["name"] for f in schema["fields"]
    }
    decoded = model.deserialize(event.serialize())
    assert decoded.model_dump()["cell_id"] == "c1"  # type: ignore[attr-defined]
    assert decoded.model_dump()["application"] == "mobu-test"  # type: ignore[attr-defined]


async def test_mock_flock() -> None:
    """metrics.mock on a real flock: every empty_loop reaches safir's mock publisher; the
    events the reference does not have get a model of their own fields."""
    async with process(metrics={"mock": True, "appName": "mobu"}) as context:
        sink, backend = _app_sink(context.observability.sinks)
        assert context.events.recorder is not None
        await context.manager.start_flock(flock("mock", "EmptyLoop", idle_time=0))
        await context.manager.start_flock(flock("flaky", "Flaky", failures=0, idle_time=0))
        await context.events.recorder.wait_for("empty_loop", 100)
        await context.events.recorder.wait_for("notebook_like", 10)
        await context.manager.stop_flock("mock")
        await context.manager.stop_flock("flaky")
        await sink.flush()
        published = backend.published("empty_loop")
        assert len(published) == context.events.recorder.count("empty_loop")
        assert published[0].model_dump() == {
            "flock": "mock", "username": "bot-mobu-mock1", "business": "EmptyLoop", "success": True,
        }  # fmt: skip
        flaky = backend.published("notebook_like")
        assert len(flaky) == context.events.recorder.count("notebook_like")
        assert set(flaky[0].model_dump()) == {
            "flock", "username", "business", "notebook", "success", "duration",
        }  # fmt: skip
        assert sink.dropped == {"full": 0, "error": 0}


async def test_kafka_closed_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kafka refusing connections: monkeys keep iterating, every event is dropped and counted
    (in /metrics too), one connection attempt per backoff period."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    metrics = {
        "enabled": True,
        "schemaManager": {"registryUrl": f"http://127.0.0.1:{_closed_port()}"},
        "retryBackoff": "1h",
    }
    async with process(metrics=metrics) as context:
        sink, backend = _app_sink(context.observability.sinks)
        assert context.events.recorder is not None
        await context.manager.start_flock(flock("kafka", "EmptyLoop", idle_time=0))
        await context.events.recorder.wait_for("empty_loop", 500)
        (summary,) = context.manager.summarize_flocks()
        assert summary.success_count >= 500
        await context.manager.stop_flock("kafka")
        await sink.flush()
        published = context.events.recorder.count("empty_loop")
        assert sink.dropped["error"] == published
        assert sink.written == 0
        assert backend.connect_attempts == 1
        assert context.observability.metrics is not None
        text = context.observability.metrics.render().decode()
        dropped = _metric(text, "mobu_event_sink_dropped_total", sink="app_metrics", reason="error")
        assert dropped == published


@asynccontextmanager
async def _silent_broker() -> AsyncIterator[tuple[int, asyncio.Event]]:
    """A TCP server that accepts connections and never answers (a hung broker)."""
    accepted = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        accepted.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    try:
        yield port, accepted
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_hung_broker_never_slows_monkeys(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broker that never answers: while the one connection attempt hangs, the monkeys do
    thousands of iterations, the overflow is dropped as ``full`` and counted."""
    async with _silent_broker() as (port, accepted):
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{port}")
        monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
        metrics: dict[str, Any] = {
            "enabled": True,
            "schemaManager": {"registryUrl": f"http://127.0.0.1:{_closed_port()}"},
            "requestTimeout": "1h",
            "queueSize": 50,
        }
        async with process(metrics=metrics) as context:
            sink, backend = _app_sink(context.observability.sinks)
            assert context.events.recorder is not None
            await context.manager.start_flock(flock("hung", "EmptyLoop", count=2, idle_time=0))
            await accepted.wait()
            await context.events.recorder.wait_for("empty_loop", 2000)
            assert backend.connecting
            assert backend.connect_attempts == 1
            (summary,) = context.manager.summarize_flocks()
            assert summary.success_count >= 2000
            assert sink.dropped["full"] >= 2000 - 50 - sink.batch_size
            assert sink.queued == 50
            await context.manager.stop_flock("hung")

"""Prometheus metrics: names, bounded labels, and a real Prometheus scraping a real mobu."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.main import create_app
from mobu.metrics import LagMonitor, MetricsConfig, MobuMetrics
from mobu.models.flock import FlockSummary
from mobu.models.monkey import MonkeyState
from mobu.platform.prometheus import prometheus_binary, run_prometheus
from mobu.services.builder import null_logger
from mobu.services.business.empty import EmptyLoopExecution
from mobu.services.business.tap import TapQuery
from mobu.services.stats import StatsCollector
from tests.observability.conftest import flock, obs_registry, process
from tests.support.target import Target

QUERY_DEADLINE = 30.0


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


async def test_every_metric_is_mobu_prefixed(target: Target) -> None:
    """All families start with mobu_ and cover iterations, durations, monkeys and the process."""
    async with process() as context:
        assert context.events.recorder is not None
        await context.manager.start_flock(
            flock("names", "HTTPCheck", count=2, url=f"{target.url}/ok", idle_time=0)
        )
        await context.events.recorder.wait_for("http_check", 20)
        assert context.observability.metrics is not None
        families = _families(context.observability.metrics.render().decode())
    assert all(name.startswith("mobu_") for name in families)
    for expected in (
        "mobu_iterations",
        "mobu_events",
        "mobu_event_duration_seconds",
        "mobu_monkeys",
        "mobu_flock_start_time_seconds",
        "mobu_event_loop_lag_seconds",
        "mobu_open_fds",
        "mobu_resident_memory_bytes",
        "mobu_asyncio_tasks",
        "mobu_event_sink_dropped",
    ):
        assert expected in families, expected
    durations = [
        s for s in families["mobu_event_duration_seconds"].samples
        if s.name.endswith("_count") and s.labels["flock"] == "names"
    ]  # fmt: skip
    assert durations[0].labels == {"flock": "names", "event": "http_check", "outcome": "success"}
    assert durations[0].value >= 20
    running = [s.value for s in families["mobu_monkeys"].samples if s.labels["state"] == "RUNNING"]
    assert running == [2]
    tasks = families["mobu_asyncio_tasks"].samples[0].value
    assert tasks >= 2


def test_label_values_are_capped() -> None:
    """Past max_label_values flocks, further flocks share the _other label value."""
    metrics = MobuMetrics(MetricsConfig(max_label_values=2))
    events = Events(sinks=[metrics])
    for name in ("a", "b", "c", "d"):
        events.dispatch(
            "empty_loop",
            EmptyLoopExecution(
                flock=name, username="bot-mobu-x", business="EmptyLoop", success=True
            ),
        )
    events.dispatch(
        "tap_query",
        TapQuery(
            flock="a", username="bot-mobu-x", business="TAPQueryRunner", success=False,
            duration=timedelta(seconds=2), sync=True,
        ),
    )  # fmt: skip
    families = _families(metrics.render().decode())
    flocks = {s.labels["flock"] for s in families["mobu_events"].samples}
    assert flocks == {"a", "b", "_other"}
    (other,) = [
        s for s in families["mobu_events"].samples
        if s.labels["flock"] == "_other" and s.name == "mobu_events_total"
    ]  # fmt: skip
    assert other.value == 2
    (failed,) = [
        s for s in families["mobu_event_duration_seconds"].samples
        if s.name.endswith("_count") and s.labels["outcome"] == "failure"
    ]  # fmt: skip
    assert failed.value == 1


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[tuple[str, asyncio.Event, list[int]]]:
    """Serve ``app`` with uvicorn on a free port; report each completed GET /metrics."""
    scraped = asyncio.Event()
    scrapes = [0]

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        if scope["type"] == "http" and scope["path"] == "/metrics":
            scrapes[0] += 1
            scraped.set()

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(watched, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"127.0.0.1:{port}", scraped, scrapes
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
        sock.close()


@pytest.mark.prometheus
@pytest.mark.skipif(
    prometheus_binary() is None,
    reason="prometheus is not installed (scripts/install/prometheus.sh needs root and apt-get)",
)
async def test_real_prometheus_scrapes_mobu(tmp_path: Path, target: Target) -> None:
    """Debian's Prometheus scrapes mobu's /metrics over HTTP; its query API returns our values."""
    config = Config(
        log_monkeys_to_file=False,
        stop_grace=timedelta(seconds=1),
        autostart=[
            flock("prom", "HTTPCheck", count=2, url=f"{target.url}/ok",
                  idle_time=timedelta(milliseconds=20)),
        ],
    )  # fmt: skip
    events = Events()
    context = ProcessContext(config, logger=null_logger(), registry=obs_registry(), events=events)
    app = create_app(config, context=context)
    async with (
        serve(app) as (address, scraped, scrapes),
        run_prometheus([address], directory=tmp_path / "prometheus") as prometheus,
    ):
        assert events.recorder is not None
        await events.recorder.wait_for("http_check", 10)
        # Prometheus starts scrape k+1 only after it stored scrape k: once four scrapes were
        # answered, the first three are queryable (no polling of Prometheus needed).
        while scrapes[0] < 4:
            scraped.clear()
            await asyncio.wait_for(scraped.wait(), QUERY_DEADLINE)
        iterations = await prometheus.query('mobu_iterations_total{flock="prom",outcome="success"}')
        p99 = await prometheus.query(
            "histogram_quantile(0.99, sum by (le)"
            ' (rate(mobu_event_duration_seconds_bucket{flock="prom",event="http_check"}[10s])))',
        )
        (health,) = await prometheus.targets()
    assert float(iterations[0]["value"][1]) >= 10
    assert iterations[0]["metric"]["business"] == "HTTPCheck"
    assert 0 < float(p99[0]["value"][1]) <= 30
    assert health["health"] == "up"


async def test_event_loop_lag_is_measured_and_warned() -> None:
    """A blocked event loop shows up as lag; past the threshold mobu warns, rate-limited."""
    lags: list[float] = []
    sampled = asyncio.Event()

    def observe(lag: float) -> None:
        lags.append(lag)
        sampled.set()

    monitor = LagMonitor(timedelta(milliseconds=10), observe)
    monitor.start()
    time.sleep(0.3)  # the loop is blocked: the next sample is at least this late
    await asyncio.wait_for(sampled.wait(), 30)
    monitor.stop()
    assert lags[0] >= 0.25
    metrics = MobuMetrics(
        MetricsConfig(event_loop_lag_warning=timedelta(seconds=0.1)),
        logger=structlog.get_logger("mobu-test"),
    )
    with capture_logs() as logs:
        for lag in (0.05, 0.7, 0.9):
            metrics.observe_lag(lag)
    (warning,) = [e for e in logs if e["event"].startswith("Event loop lagging")]
    assert warning["lag_seconds"] == 0.7
    families = _families(metrics.render().decode())
    (count,) = [
        s.value for s in families["mobu_event_loop_lag_seconds"].samples
        if s.name.endswith("_count")
    ]  # fmt: skip
    assert count == 3


class _FloatDuration(EmptyLoopExecution):
    duration: float | str | None = None


def test_sinks_accept_any_duration_type() -> None:
    """Sinks never raise into a business: float durations count, odd types are ignored."""
    metrics = MobuMetrics(MetricsConfig())
    stats = StatsCollector()
    events = Events(sinks=[metrics, stats])
    common = {"flock": "f", "username": "bot-mobu-x", "business": "Custom", "success": True}
    for duration in (0.25, 2, "soon", None):
        events.dispatch("custom", _FloatDuration(duration=duration, **common))
    (custom,) = stats.flock_statistics("f")
    assert (custom.total.count, custom.total.max) == (4, 2.0)
    families = _families(metrics.render().decode())
    (count,) = [
        s.value for s in families["mobu_event_duration_seconds"].samples
        if s.name.endswith("_count")
    ]  # fmt: skip
    assert count == 2


def test_flock_metrics_come_from_the_summaries_callable() -> None:
    """Flock gauges are read from the summaries callable at each scrape, every state listed."""
    summaries = [
        FlockSummary(
            name="f",
            business="EmptyLoop",
            start_time=datetime(2026, 1, 2, tzinfo=UTC),
            monkey_count=3,
            success_count=5,
            failure_count=1,
            monkey_states={MonkeyState.RUNNING: 2, MonkeyState.ERROR: 1},
        )
    ]
    metrics = MobuMetrics(MetricsConfig(), summaries=lambda: summaries)
    families = _families(metrics.render().decode())
    states = {s.labels["state"]: s.value for s in families["mobu_monkeys"].samples}
    assert states == {state.value: 0 for state in MonkeyState} | {"RUNNING": 2, "ERROR": 1}
    iterations = {
        s.labels["outcome"]: s.value for s in families["mobu_iterations"].samples
        if s.name.endswith("_total")
    }  # fmt: skip
    assert iterations == {"success": 5, "failure": 1}
    (started,) = families["mobu_flock_start_time_seconds"].samples
    assert started.value == datetime(2026, 1, 2, tzinfo=UTC).timestamp()
    summaries.clear()
    families = _families(metrics.render().decode())
    assert families["mobu_flocks"].samples[0].value == 0
    assert families["mobu_monkeys"].samples == []

"""The summary routes carry the latency statistics; /metrics is served by the app."""

from __future__ import annotations

from datetime import timedelta

import httpx
from asgi_lifespan import LifespanManager

from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.main import create_app
from mobu.services.builder import null_logger
from tests.observability.conftest import flock, obs_registry
from tests.support.target import Target


async def test_summaries_and_metrics_over_http(target: Target) -> None:
    """GET {prefix}/flocks/{flock}/summary and {prefix}/summary include statistics per event."""
    config = Config(
        log_monkeys_to_file=False,
        stop_grace=timedelta(seconds=1),
        autostart=[flock("api", "HTTPCheck", count=2, url=f"{target.url}/ok", idle_time=0)],
    )
    events = Events()
    context = ProcessContext(config, logger=null_logger(), registry=obs_registry(), events=events)
    app = create_app(config, context=context)
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://mobu") as client,
    ):
        assert events.recorder is not None
        await events.recorder.wait_for("http_check", 30)
        one = (await client.get("/mobu/flocks/api/summary")).json()
        everything = (await client.get("/mobu/summary")).json()
        metrics = await client.get("/metrics")
    (stats,) = one["statistics"]
    assert stats["event"] == "http_check"
    assert stats["total"]["count"] >= 30
    assert stats["total"]["failures"] == 0
    assert 0 < stats["total"]["p50"] <= stats["total"]["p99"] <= stats["total"]["max"]
    assert set(stats["window"]) >= {"count", "failures", "p50", "p90", "p95", "p99", "max"}
    assert stats["window_seconds"] == 300
    (listed,) = everything["flocks"]
    assert "monkey_states" not in listed  # counted for the metrics only
    assert listed["statistics"][0]["event"] == "http_check"
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'mobu_iterations_total{business="HTTPCheck",flock="api",outcome="success"}' in (
        metrics.text
    )

"""``PATCH /flocks/{flock}`` resizes over the API; ``--url`` runs a plan on a server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from mobu.cli import mobu
from mobu.client import MobuClient, MobuClientError
from mobu.config import Config
from mobu.factory import ProcessContext
from mobu.main import create_app
from mobu.services.builder import null_logger
from tests.cli.conftest import invoke, mobu_server
from tests.loadtest.support import http_flock, run_capped_target, write_yaml


@pytest.fixture
async def api() -> AsyncIterator[tuple[MobuClient, httpx.AsyncClient]]:
    """The app with its lifespan, with a MobuClient and a raw client on it."""
    config = Config(stop_grace=timedelta(seconds=5))
    app = create_app(config, context=ProcessContext(config, logger=null_logger()))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with (
            MobuClient("http://testserver/mobu", transport=transport) as client,
            httpx.AsyncClient(base_url="http://testserver/mobu/", transport=transport) as raw,
        ):
            yield client, raw


async def test_patch_resizes_and_refuses_bad_counts(
    api: tuple[MobuClient, httpx.AsyncClient],
) -> None:
    """PATCH grows and shrinks a flock (same survivors); bad bodies are 422 naming count."""
    client, raw = api
    async with run_capped_target(100) as target:
        await client.start_flock(http_flock(target.url, count=2))
        before = await client.get_monkey("http", "bot-mobu-lt1")
        summary = await client.resize_flock("http", 5)
        assert summary.monkey_count == 5
        assert await client.list_monkeys("http") == [f"bot-mobu-lt{i}" for i in range(1, 6)]
        summary = await client.resize_flock("http", 1)
        assert summary.monkey_count == 1
        after = await client.get_monkey("http", "bot-mobu-lt1")
        assert after.business.success_count >= before.business.success_count
        for body in ({"count": 0}, {"count": "3"}, {"count": 2, "extra": 1}, {}):
            response = await raw.patch("flocks/http", json=body)
            assert response.status_code == 422, body
            locations = [d["loc"] for d in response.json()["detail"]]
            assert any(
                loc[:2] == ["body", "count"] or loc == ["body", "extra"] for loc in locations
            )
            assert '"3"' not in response.text
        with pytest.raises(MobuClientError) as info:
            await client.resize_flock("nothing", 2)
        assert info.value.status_code == 404
        await client.stop_flock("http")


async def test_loadtest_with_url_runs_on_the_server(tmp_path: Path) -> None:
    """The same plan runs on a mobu server: ramps through PATCH, thresholds judged, exit 0."""
    async with run_capped_target(100) as target, mobu_server(tmp_path) as server:
        plan = {
            "name": "remote",
            "flocks": [http_flock(target.url, count=1)],
            "stages": [{"monkeys": 3, "ramp": "1s", "hold": "1s"}, {"monkeys": 1, "hold": "1s"}],
            "thresholds": [
                {"stat": "failure_rate", "max": "1%"},
                {"event": "http_check", "stat": "p99", "max": "30s"},
            ],
            "interval": "250ms",
        }
        path = write_yaml(tmp_path / "plan.yaml", plan)
        result = await invoke(mobu, ["loadtest", str(path), "--json", "--url", server.url])
        async with MobuClient(server.url) as client:
            left = await client.list_flocks()
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["target"] == server.url
    assert document["passed"] is True
    counts = [p["monkeys"] for p in document["timeline"]]
    assert max(counts) == 3
    assert 1 in counts[counts.index(3) :]  # shrunk by PATCH, not restarted
    assert document["events"]["http_check"]["count"] > 0
    assert left == []

"""MobuClient against the app in-process (the same client the CLI uses over HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager

from mobu.client import MobuClient, MobuClientError
from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.main import create_app
from mobu.models.flock import FlockConfig
from mobu.services.builder import null_logger
from tests.api.conftest import flock_body


@pytest.fixture
async def mobu_client(events: Events) -> AsyncIterator[MobuClient]:
    """A MobuClient talking to the app through an ASGI transport."""
    config = Config(stop_grace=timedelta(seconds=1))
    app = create_app(config, context=ProcessContext(config, logger=null_logger(), events=events))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with MobuClient("http://testserver/mobu", transport=transport) as client:
            yield client


async def test_client_round_trip(mobu_client: MobuClient, events: Events) -> None:
    """Every call returns typed models."""
    client = mobu_client
    assert (await client.index()).metadata.name == "mobu"
    config = FlockConfig.model_validate(flock_body(count=2))
    flock = await client.start_flock(config)
    assert [m.name for m in flock.monkeys] == ["bot-mobu-testuser1", "bot-mobu-testuser2"]
    assert flock.config.business.options == {"idle_time": 0.01}
    assert await client.list_flocks() == ["test"]
    assert await client.list_monkeys("test") == ["bot-mobu-testuser1", "bot-mobu-testuser2"]
    assert events.recorder is not None
    await events.recorder.wait_for("empty_loop", 2)
    monkey = await client.get_monkey("test", "bot-mobu-testuser1")
    assert monkey.business.name == "EmptyLoop"
    log = "".join([c async for c in client.iter_monkey_log("test", "bot-mobu-testuser1")])
    assert "Starting up" in log
    summary = await client.flock_summary("test")
    assert summary.monkey_count == 2
    assert [f.name for f in (await client.summary()).flocks] == ["test"]
    await client.refresh_flock("test")
    result = await client.run(
        {"user": {"username": "bot-mobu-solo"}, "business": {"type": "EmptyLoop"}}
    )
    assert result.success
    types = {b.type for b in await client.businesses()}
    assert {"EmptyLoop", "HTTPCheck"} <= types
    await client.stop_flock("test")
    with pytest.raises(MobuClientError) as excinfo:
        await client.get_flock("test")
    assert excinfo.value.status_code == 404
    assert excinfo.value.detail[0]["type"] == "flock_not_found"
    with pytest.raises(MobuClientError) as excinfo:
        await client.start_flock({"name": "x"})
    assert excinfo.value.status_code == 422
    assert "body.count" in str(excinfo.value)

"""HTTPCheck against a real local HTTP server."""

from __future__ import annotations

from typing import Any

import pytest

from mobu.events import Events
from mobu.identity import AnonymousIdentity
from mobu.models.solitary import SolitaryConfig
from mobu.services.builder import MonkeyBuilder
from mobu.services.business.httpcheck import HttpCheckEvent
from mobu.services.manager import FlockManager
from mobu.services.solitary import run_solitary
from tests.support.target import Target


@pytest.fixture(params=["fast", "aiohttp"])
def client(request: pytest.FixtureRequest) -> str:
    """Each test runs with both HTTP clients of HTTPCheck."""
    return str(request.param)


async def solo(builder: MonkeyBuilder, client: str, **options: Any) -> Any:
    options["client"] = client
    config = SolitaryConfig.model_validate(
        {
            "user": {"username": "bot-mobu-http"},
            "business": {"type": "HTTPCheck", "options": options},
        },
    )
    return await run_solitary(config, builder=builder, identity=AnonymousIdentity())


async def test_success_publishes_event(
    builder: MonkeyBuilder,
    events: Events,
    target: Target,
    client: str,
) -> None:
    """A 200 with a matching body is a success with duration and status in the event."""
    result = await solo(builder, client, url=f"{target.url}/ok", body_regex="nominal")
    assert result.success, result.error
    assert events.recorder is not None
    [event] = events.recorder.published("http_check")
    assert isinstance(event, HttpCheckEvent)
    assert event.success is True
    assert event.status_code == 200
    assert event.duration is not None
    assert event.duration.total_seconds() > 0
    assert target.hits["ok"] == 1


async def test_wrong_status(
    builder: MonkeyBuilder,
    events: Events,
    target: Target,
    client: str,
) -> None:
    """A 503 fails with the status in the error; the failed event carries its duration."""
    result = await solo(builder, client, url=f"{target.url}/status/503")
    assert not result.success
    assert "status 503, expected 2xx" in result.error
    assert "status 503" in result.log
    assert events.recorder is not None
    [event] = events.recorder.published("http_check")
    assert event.success is False  # type: ignore[attr-defined]
    assert event.duration is not None  # type: ignore[attr-defined]


async def test_expected_status_and_redirects(
    builder: MonkeyBuilder, target: Target, client: str
) -> None:
    """expected_status accepts non-2xx codes; redirects are followed only when asked."""
    assert (
        await solo(builder, client, url=f"{target.url}/status/404", expected_status=[404])
    ).success
    assert (
        await solo(builder, client, url=f"{target.url}/redirect", expected_status=[302])
    ).success
    followed = await solo(builder, client, url=f"{target.url}/redirect", follow_redirects=True)
    assert followed.success


async def test_body_mismatch(builder: MonkeyBuilder, target: Target, client: str) -> None:
    """A body that does not match body_regex fails."""
    result = await solo(builder, client, url=f"{target.url}/ok", body_regex="^degraded")
    assert not result.success
    assert "does not match" in result.error


async def test_method_headers_body(builder: MonkeyBuilder, target: Target, client: str) -> None:
    """Method, headers and body are sent as configured."""
    result = await solo(
        builder,
        client,
        url=f"{target.url}/echo",
        method="POST",
        headers={"X-Probe": "yes"},
        body="payload",
        body_regex="^POST yes payload$",
    )
    assert result.success, result.error


async def test_timeout_and_refused(builder: MonkeyBuilder, target: Target, client: str) -> None:
    """A server that never answers times out; a closed port is a connection error."""
    result = await solo(builder, client, url=f"{target.url}/hang", timeout=0.2)
    assert not result.success
    assert "timed out" in result.error
    result = await solo(builder, client, url="http://127.0.0.1:9/", timeout=2)
    assert not result.success
    assert "ClientConnectorError" in result.error or "Connect" in result.error


async def test_flock_shares_one_session(
    manager: FlockManager,
    events: Events,
    target: Target,
    client: str,
) -> None:
    """Every monkey of an HTTPCheck flock uses the one shared connection pool."""
    from mobu.models.flock import FlockConfig

    config = FlockConfig.model_validate(
        {
            "name": "http",
            "count": 4,
            "user_spec": {"username_prefix": "bot-mobu-http"},
            "business": {
                "type": "HTTPCheck",
                "options": {"url": f"{target.url}/ok", "idle_time": 0, "client": client},
            },
        },
    )
    flock = await manager.start_flock(config)
    assert events.recorder is not None
    await events.recorder.wait_for("http_check", 40)
    attribute = "_fast" if client == "fast" else "_session"
    sessions = {id(getattr(m.business, attribute)) for m in flock.monkeys}
    assert len(sessions) == 1
    await manager.stop_flock("http")
    assert flock.summary().failure_count == 0
    assert flock.summary().success_count >= 40


async def test_environment_proxy(
    builder: MonkeyBuilder, client: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """client aiohttp goes through HTTP_PROXY; the fast client refuses it with a clear error."""
    import asyncio

    lines: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines.append(head.split(b"\r\n", 1)[0])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nvia proxy")
        await writer.drain()
        writer.close()

    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    try:
        result = await solo(builder, client, url="http://checked.invalid/ok", body_regex="proxy")
    finally:
        server.close()
        await server.wait_closed()
    if client == "aiohttp":
        assert result.success, result.error
        assert lines == [b"GET http://checked.invalid/ok HTTP/1.1"]
    else:
        assert not result.success
        assert "HTTP_PROXY in the environment sets a proxy for checked.invalid" in result.error
        assert lines == []

"""The shared httpx client's sharded pools, against a real local server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from mobu.storage.httpxpool import ShardedTransport, shared_httpx_client


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, set[int]]]:
    """A local server on a free port; yields its URL and the client ports it saw."""
    peers: set[int] = set()

    async def hello(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer:
            peers.add(peer[1])
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/{tail:.*}", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/", peers
    finally:
        await runner.cleanup()


async def test_users_spread_over_pools_and_reuse_their_connection(
    server: tuple[str, set[int]],
) -> None:
    """Calls about one user go through one pool (its connection reused); users spread out."""
    url, peers = server
    transport = ShardedTransport(64)
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(3):
            response = await client.get(f"{url}hub/api/users/alice/server")
            assert response.status_code == 200
        assert len(peers) == 1
        names = ("bob", "carol", "dave", "erin", "frank")
        for name in names:
            await client.get(f"{url}user/{name}/api/status")
    pools = {hash(name) % len(transport.pools) for name in ("alice", *names)}
    assert len(peers) == len(pools) > 1  # one connection per pool used, reused across calls


async def test_concurrent_requests_through_the_shared_client(
    server: tuple[str, set[int]],
) -> None:
    """Many calls at once all succeed through the sharded shared client."""
    url, _ = server
    async with shared_httpx_client(verify=True, shards=4) as client:
        responses = await asyncio.gather(*(client.get(url) for _ in range(40)))
    assert [r.status_code for r in responses] == [200] * 40


async def test_environment_proxy_is_honoured(
    server: tuple[str, set[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY from the environment is used, NO_PROXY hosts go direct."""
    url, _ = server
    with socket.socket() as probe:  # a port nothing listens on: the proxy is unreachable
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead}")
    monkeypatch.setenv("NO_PROXY", "")
    async with shared_httpx_client(verify=True, shards=2) as client:
        with pytest.raises((httpx.ProxyError, httpx.ConnectError)):  # via the dead proxy
            await client.get(url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with shared_httpx_client(verify=True, shards=2) as client:
        assert (await client.get(url)).status_code == 200


def test_shards_must_be_positive() -> None:
    """Zero pools is refused."""
    with pytest.raises(ValueError, match="shards"):
        ShardedTransport(0)

"""``mobu serve`` after (or during) concurrent replacements of one flock: SIGTERM exits 0."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.cli.conftest import mobu_server
from tests.support.target import Target

PUTS = 10
CANCELLED = "did not stop within grace period"


def http_flock(url: str) -> dict[str, Any]:
    return {
        "name": "load",
        "count": 4,
        "user_spec": {"username_prefix": "bot-mobu-load"},
        "business": {"type": "HTTPCheck", "options": {"url": url, "idle_time": "1ms"}},
    }


async def test_sigterm_after_concurrent_puts(tmp_path: Path, target: Target) -> None:
    """Ten concurrent PUTs of one flock, then SIGTERM: every monkey stops and the exit is 0."""
    body = http_flock(f"{target.url}/ok")
    async with mobu_server(tmp_path, {"stop_grace": "60s"}) as server:
        async with httpx.AsyncClient(base_url=server.url + "/", timeout=120) as client:
            responses = await asyncio.gather(
                *(client.put("flocks", json=body) for _ in range(PUTS))
            )
            assert [r.status_code for r in responses] == [201] * PUTS
            assert (await client.get("flocks")).json() == ["load"]
        status = await server.terminate()
    assert status == 0, server.log
    assert "All flocks stopped" in server.log
    assert CANCELLED not in server.log  # each business acknowledged its stop itself
    assert "Traceback" not in server.log


async def test_sigterm_during_concurrent_puts(tmp_path: Path, target: Target) -> None:
    """SIGTERM while PUTs of one flock are still queued: they end or are refused; exit 0."""
    body = http_flock(f"{target.url}/ok")
    async with (
        mobu_server(tmp_path, {"stop_grace": "60s"}) as server,
        httpx.AsyncClient(base_url=server.url + "/", timeout=120) as client,
    ):
        puts = [asyncio.create_task(client.put("flocks", json=body)) for _ in range(PUTS)]
        await server.wait_for_output("Replacing flock")
        status = await server.terminate()
        results = await asyncio.gather(*puts, return_exceptions=True)
    assert status == 0, server.log
    for result in results:
        if isinstance(result, httpx.Response):
            assert result.status_code in (201, 503), result.text
        else:
            assert isinstance(result, httpx.TransportError), repr(result)
    assert "All flocks stopped" in server.log
    assert CANCELLED not in server.log
    assert "Traceback" not in server.log

"""A real HTTP target with a known knee, and helpers to write plans and run the commands."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

SERVICE_TIME = 0.05
"""Seconds the target works on each request (so that requests of different monkeys overlap)."""

QUIET = {"metrics": {"event_loop_lag_warning": 30}}
"""mobu configuration for in-process runs in tests: the shared 2-core machine may lag now and
then, which must not turn a platform knee into "mobu itself" (that rule has its own test)."""


@dataclass
class CappedTarget:
    """A target that answers 503 to any request beyond ``cap`` in flight."""

    url: str
    cap: int
    in_flight: int = 0
    most: int = 0
    refused: int = 0
    served: int = 0


@asynccontextmanager
async def run_capped_target(cap: int) -> AsyncIterator[CappedTarget]:
    """Serve ``/work`` on 127.0.0.1 and a free port; at most ``cap`` requests at once."""
    state: dict[str, CappedTarget] = {}

    async def work(request: web.Request) -> web.Response:
        target = state["target"]
        if target.in_flight >= target.cap:
            target.refused += 1
            return web.Response(status=503, text="busy")
        target.in_flight += 1
        target.most = max(target.most, target.in_flight)
        try:
            await asyncio.sleep(SERVICE_TIME)  # the service's own work, not a wait in the test
        finally:
            target.in_flight -= 1
        target.served += 1
        return web.Response(text="done")

    app = web.Application()
    app.router.add_get("/work", work)
    runner = web.AppRunner(app, handle_signals=False, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state["target"] = CappedTarget(url=f"http://127.0.0.1:{port}/work", cap=cap)
    try:
        yield state["target"]
    finally:
        await runner.cleanup()


def http_flock(url: str, count: int = 1, name: str = "http") -> dict[str, Any]:
    """An HTTPCheck flock spec hitting ``url`` without pause (errors retried at once)."""
    return {
        "name": name,
        "count": count,
        "user_spec": {"username_prefix": "bot-mobu-lt"},
        "business": {
            "type": "HTTPCheck",
            "restart": True,
            "options": {"url": url, "idle_time": 0, "error_idle_time": 0},
        },
    }


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as YAML to ``path``."""
    path.write_text(yaml.safe_dump(data))
    return path

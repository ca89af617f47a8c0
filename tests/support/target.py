"""A real local HTTP server (aiohttp) on a free loopback port, for HTTPCheck tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Target:
    """A running target server."""

    url: str
    hits: dict[str, int]
    received: list[dict[str, str]] = field(default_factory=list)
    """Headers of every request to ``/echo``."""
    hung: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a request to ``/hang`` has arrived (and is hanging)."""


@asynccontextmanager
async def run_target() -> AsyncIterator[Target]:
    """Serve a small app on 127.0.0.1 and a free port."""
    hits: dict[str, int] = {}
    never = asyncio.Event()
    state: dict[str, Target] = {}

    async def ok(request: web.Request) -> web.Response:
        hits["ok"] = hits.get("ok", 0) + 1
        return web.Response(text="all systems nominal")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status")

    async def hang(request: web.Request) -> web.Response:
        state["target"].hung.set()
        await never.wait()
        return web.Response(text="late")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    async def echo(request: web.Request) -> web.Response:
        body = await request.text()
        state["target"].received.append(dict(request.headers))
        return web.Response(text=f"{request.method} {request.headers.get('X-Probe', '')} {body}")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/hang", hang)
    app.router.add_get("/redirect", redirect)
    app.router.add_route("*", "/echo", echo)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state["target"] = Target(url=f"http://127.0.0.1:{port}", hits=hits)
    try:
        yield state["target"]
    finally:
        never.set()
        await runner.cleanup()

"""Fixtures of the IVOA tests: a private GAVO DaCHS server and a TAP server that hangs."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import structlog
from aiohttp import web
from structlog.testing import CapturingLogger
from structlog.typing import FilteringBoundLogger

from mobu.discovery import Discovery, DiscoveryConfig
from mobu.events import Events
from mobu.models.user import AuthenticatedUser
from mobu.platform.dachs import DachsServer, dachs_unavailable_reason

UNAVAILABLE = dachs_unavailable_reason()
needs_dachs = pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")

SLOW_QUERY = (
    "SELECT COUNT(*) AS n FROM synth.main AS a, synth.main AS b, synth.main AS c"
    " WHERE a.mag + b.mag + c.mag > 100"
)
"""A cross join of 1.25e11 rows: runs until it is aborted."""


@pytest.fixture(scope="session")
def dachs() -> Iterator[DachsServer]:
    """The private DaCHS server of the test session."""
    if UNAVAILABLE is not None:
        pytest.skip(UNAVAILABLE)
    server = DachsServer.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class HungTap:
    """A TAP and SIA server whose capabilities are DaCHS's and which never answers queries."""

    base: str
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    hung: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        """TAP base URL."""
        return f"{self.base}/tap"

    @property
    def sia_url(self) -> str:
        """SIA v2 service URL."""
        return f"{self.base}/__system__/siap2/sitewide/siap2.xml"


@pytest.fixture
async def hung_tap(dachs: DachsServer) -> AsyncIterator[HungTap]:
    """A server on a free port that serves DaCHS's capabilities and hangs on everything else."""
    forever = asyncio.Event()
    state: dict[str, Any] = {}

    async def handle(request: web.Request) -> web.StreamResponse:
        hung: HungTap = state["hung"]
        hung.requests.append((request.method, request.path, dict(request.headers)))
        if request.path.endswith("/capabilities"):
            async with httpx.AsyncClient() as client:
                upstream = await client.get(f"{dachs.url}{request.path}")
            text = upstream.text.replace(dachs.url, hung.base)
            return web.Response(text=text, content_type="text/xml", status=upstream.status_code)
        hung.hung.set()
        await forever.wait()
        return web.Response(status=500)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state["hung"] = HungTap(base=f"http://127.0.0.1:{port}")
    try:
        yield state["hung"]
    finally:
        await runner.cleanup()


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def make_discovery(dachs: DachsServer, hung: HungTap | None = None) -> Discovery:
    """Discovery with the datasets the tests use."""
    datasets: dict[str, Any] = {
        "demo": {"tap": dachs.tap_url, "sia": dachs.sia_url},
        "down": {"tap": f"http://127.0.0.1:{closed_port()}/tap"},
    }
    if hung is not None:
        datasets["hung"] = {"tap": hung.url, "sia": hung.sia_url}
    return Discovery(DiscoveryConfig(datasets=datasets))


@pytest.fixture
def discovery(dachs: DachsServer) -> Discovery:
    """Discovery of the session's DaCHS (``demo``) and of a server that is down (``down``)."""
    return make_discovery(dachs)


@pytest.fixture
def events() -> Events:
    """In-memory events."""
    return Events()


@pytest.fixture
def capture() -> CapturingLogger:
    """Records every log call of the business."""
    return CapturingLogger()


@pytest.fixture
def logger(capture: CapturingLogger) -> FilteringBoundLogger:
    """A debug-level logger that records into ``capture``."""
    wrapped: FilteringBoundLogger = structlog.wrap_logger(
        capture,
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        processors=[],
    )
    return wrapped


@pytest.fixture
def user() -> AuthenticatedUser:
    """A monkey without a token (as with local anonymous identity)."""
    return AuthenticatedUser(username="bot-mobu-ivoa")


def logged(capture: CapturingLogger, event: str) -> list[dict[str, Any]]:
    """The key/value data of every log call with message ``event``."""
    return [call.kwargs for call in capture.calls if call.kwargs.get("event") == event]

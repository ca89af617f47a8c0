"""Local receivers that follow the contracts of SaaS services: Slack webhooks, Sentry envelopes."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import brotli
from aiohttp import web

WAIT = 60.0
"""Generous bound on waiting for deliveries, so a lost message fails the test instead of hanging."""


@dataclass
class SentryItem:
    """One item of an envelope."""

    header: dict[str, Any]
    payload: bytes

    def json(self) -> dict[str, Any]:
        return json.loads(self.payload)


@dataclass
class Receiver:
    """What arrived, with a way to wait for it."""

    url: str
    slack: list[dict[str, Any]] = field(default_factory=list)
    envelopes: list[list[SentryItem]] = field(default_factory=list)
    slack_status: int = 200
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    hanging: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def webhook(self) -> str:
        return f"{self.url}/services/T000/B000/XXXX"

    @property
    def dsn(self) -> str:
        host = self.url.removeprefix("http://")
        return f"http://publickey@{host}/1"

    async def wait_slack(self, count: int) -> list[dict[str, Any]]:
        async with asyncio.timeout(WAIT):
            while len(self.slack) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.slack

    async def wait_envelopes(self, count: int) -> list[list[SentryItem]]:
        async with asyncio.timeout(WAIT):
            while len(self.envelopes) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.envelopes

    def events(self) -> list[tuple[dict[str, Any], list[SentryItem]]]:
        """(event, attachments) of every envelope that carried an event."""
        found = []
        for items in self.envelopes:
            events = [i.json() for i in items if i.header.get("type") == "event"]
            attachments = [i for i in items if i.header.get("type") == "attachment"]
            found.extend((e, attachments) for e in events)
        return found


def parse_envelope(body: bytes) -> list[SentryItem]:
    """Split a Sentry envelope: header line, then (item header, payload) pairs."""
    _, _, rest = body.partition(b"\n")
    items = []
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        header = json.loads(line)
        length = header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length:]
            rest = rest.removeprefix(b"\n")
        items.append(SentryItem(header, payload))
    return items


def _decode(request: web.Request, body: bytes) -> bytes:
    """Undo Content-Encoding unless aiohttp already did (it decodes request bodies itself)."""
    if body.startswith(b"{"):
        return body
    encoding = request.headers.get("Content-Encoding", "")
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        return brotli.decompress(body)
    return body


@asynccontextmanager
async def run_receiver() -> AsyncIterator[Receiver]:
    """Serve Slack's incoming-webhook contract and Sentry's envelope endpoint on a free port."""
    receiver: Receiver | None = None

    async def slack(request: web.Request) -> web.Response:
        assert receiver is not None
        if request.content_type != "application/json":
            return web.Response(status=400, text="invalid_payload")
        payload = await request.json()
        if receiver.slack_status != 200:
            return web.Response(status=receiver.slack_status, text="internal_error")
        if not isinstance(payload, dict) or not payload.get("text"):
            return web.Response(status=400, text="no_text")
        receiver.slack.append(payload)
        receiver.changed.set()
        return web.Response(text="ok")

    async def envelope(request: web.Request) -> web.Response:
        assert receiver is not None
        assert request.headers["X-Sentry-Auth"].startswith("Sentry sentry_key=publickey")
        body = _decode(request, await request.read())
        receiver.envelopes.append(parse_envelope(body))
        receiver.changed.set()
        return web.json_response({"id": "0"})

    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        assert receiver is not None
        receiver.hanging.set()
        await never.wait()
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/hang", hang)
    app.router.add_post("/services/{a}/{b}/{c}", slack)
    app.router.add_post("/api/{project}/envelope/", envelope)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver = Receiver(url=f"http://127.0.0.1:{port}")
    try:
        yield receiver
    finally:
        never.set()
        await runner.cleanup()

"""A replica group of real ``mobu serve`` processes on one local PostgreSQL, and a gated target."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiohttp import web

from mobu.replicas.merged import LOCAL_HEADER
from tests.reference.support import Process, run_process

__all__ = ["LOCAL", "Cluster", "Gate", "run_gate", "until"]

WAIT = 120.0
"""Bound on waiting for a condition, so a lost update fails the test instead of hanging."""

LOCAL = {LOCAL_HEADER: "1"}
"""Headers asking a replica for its own part only."""

REPLICAS = {"heartbeat_interval": 0.25, "stale_after": 8, "resync_interval": 2}
"""Small heartbeat and staleness window (configuration, not a test threshold)."""


async def until[T](probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Poll ``probe`` until it returns something (not None, not False); fail after WAIT."""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                result = await probe()
            except httpx.HTTPError:
                result = None
            if result is not None and result is not False:
                return result
            await asyncio.sleep(0.1)
    raise AssertionError(what)  # pragma: no cover - asyncio.timeout raises first


@dataclass
class Gate:
    """A target whose ``/check`` answers while open and holds requests while closed."""

    url: str
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    served: int = 0
    inside: int = 0
    """Requests past the gate, not yet answered."""

    def close(self) -> None:
        self.opened.clear()

    def open(self) -> None:
        self.opened.set()


@asynccontextmanager
async def run_gate() -> AsyncIterator[Gate]:
    """Serve the gate on 127.0.0.1 and a free port (open)."""
    state: dict[str, Gate] = {}

    async def check(request: web.Request) -> web.Response:
        gate = state["gate"]
        await gate.opened.wait()
        gate.inside += 1
        try:
            gate.served += 1
            return web.Response(text="ok")
        finally:
            gate.inside -= 1

    app = web.Application()
    app.router.add_get("/check", check)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state["gate"] = Gate(url=f"http://127.0.0.1:{port}")
    state["gate"].open()
    try:
        yield state["gate"]
    finally:
        state["gate"].open()
        await runner.cleanup()


@dataclass
class Replica:
    """One ``mobu serve`` process of the group."""

    index: int
    config: Path
    events: Path
    stack: AsyncExitStack | None = None
    process: Process | None = None
    url: str = ""


class Cluster:
    """``count`` replicas of one group: configuration files, start, SIGKILL, requests."""

    def __init__(
        self,
        root: Path,
        store_url: str,
        *,
        count: int = 3,
        webhook: str | None = None,
        autostart: list[dict[str, Any]] | None = None,
        identity: dict[str, Any] | None = None,
    ) -> None:
        self.client = httpx.AsyncClient(timeout=60)
        self.replicas: list[Replica] = []
        for index in range(count):
            data = root / f"replica-{index}"
            data.mkdir(parents=True)
            config: dict[str, Any] = {
                "replica_count": count,
                "replica_index": index,
                "data_dir": str(data),
                "stop_grace": 2,
                "history": {"url": store_url.replace("+asyncpg", "")},
                "replicas": REPLICAS,
                "events": {"file": {"path": str(data / "events.jsonl")}},
                "autostart": autostart or [],
            }
            if identity is not None:
                config["identity"] = identity
            if webhook is not None:
                config["alerts"] = {"slack": {"webhook": webhook, "failures": False}}
            path = data / "config.yaml"
            path.write_text(yaml.safe_dump(config))
            self.replicas.append(Replica(index, path, data / "events.jsonl"))

    async def start(self, index: int) -> None:
        """Start replica ``index``; returns once it serves."""
        replica = self.replicas[index]
        stack = AsyncExitStack()
        args = ["mobu", "serve", "--config", str(replica.config), "--port", "0"]
        env = {"MOBU_REPLICA_INDEX": str(index)}
        replica.process = await stack.enter_async_context(
            run_process(args, env, replica.config.parent)
        )
        replica.stack = stack
        match = await replica.process.wait_for(r"listening on (http://\S+)")
        replica.url = match.group(1)

    async def start_all(self) -> None:
        """Start every replica, together."""
        await asyncio.gather(*(self.start(r.index) for r in self.replicas))

    async def kill(self, index: int) -> None:
        """SIGKILL replica ``index`` (by its process group) and wait for it to exit."""
        replica = self.replicas[index]
        assert replica.process is not None
        with suppress(ProcessLookupError):
            os.killpg(replica.process.process.pid, signal.SIGKILL)
        await replica.process.process.wait()
        await self._forget(replica)

    async def _forget(self, replica: Replica) -> None:
        if replica.stack is not None:
            await replica.stack.aclose()
        replica.stack = None

    async def aclose(self) -> None:
        """Stop every replica (SIGTERM, by process group), then the client."""
        await asyncio.gather(*(self._forget(r) for r in self.replicas))
        await self.client.aclose()

    async def get(self, index: int, path: str, *, local: bool = False) -> httpx.Response:
        """GET ``path`` from replica ``index`` (``local``: its own part only)."""
        url = self.replicas[index].url + path
        return await self.client.get(url, headers=LOCAL if local else None)

    async def json(self, index: int, path: str, *, local: bool = False) -> Any:
        """GET and decode; None unless 200."""
        response = await self.get(index, path, local=local)
        return response.json() if response.status_code == 200 else None

    async def put(self, index: int, flock: dict[str, Any]) -> httpx.Response:
        """PUT a flock to replica ``index``."""
        return await self.client.put(self.replicas[index].url + "/flocks", json=flock)

    async def delete(self, index: int, name: str) -> httpx.Response:
        """DELETE a flock on replica ``index``."""
        return await self.client.delete(f"{self.replicas[index].url}/flocks/{name}")

    def events(self, event: str) -> list[dict[str, Any]]:
        """Every ``event`` record the replicas' file sinks have written so far."""
        records = []
        for replica in self.replicas:
            if replica.events.exists():
                for line in replica.events.read_text().splitlines():
                    if line.strip():
                        record = json.loads(line)
                        if record.get("event") == event:
                            records.append(record)
        return records


@asynccontextmanager
async def run_cluster(root: Path, store_url: str, **settings: Any) -> AsyncIterator[Cluster]:
    """A started cluster, stopped on the way out."""
    cluster = Cluster(root, store_url, **settings)
    try:
        await cluster.start_all()
        yield cluster
    finally:
        await cluster.aclose()

"""Request bodies above ``max_request_bytes`` are refused with 413 ``request_too_large``."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.main import create_app
from mobu.services.builder import null_logger
from tests.api.conftest import AppFactory, flock_body

LIMIT = 4096
JSON = {"content-type": "application/json"}
TOO_LARGE = {
    "detail": [
        {"loc": [], "msg": f"Request body larger than {LIMIT} bytes", "type": "request_too_large"}
    ]
}


def limited_config() -> Config:
    return Config(stop_grace=timedelta(seconds=1), max_request_bytes=LIMIT)


def padded(body: dict[str, object], size: int) -> bytes:
    """``body`` as JSON, padded with trailing spaces to exactly ``size`` bytes."""
    raw = json.dumps(body).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


async def chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    """Stream ``data`` in pieces (httpx sends it chunked, without a Content-Length)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_default_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The limit defaults to 1 MiB and MOBU_MAX_REQUEST_BYTES sets it."""
    assert Config().max_request_bytes == 1_048_576
    monkeypatch.setenv("MOBU_MAX_REQUEST_BYTES", "2048")
    assert Config().max_request_bytes == 2048


async def test_declared_length_over_limit(app_factory: AppFactory) -> None:
    """A Content-Length above the limit is a 413 in the one error shape; at the limit it passes."""
    async with app_factory(limited_config()) as client:
        r = await client.put("/mobu/flocks", content=padded(flock_body(), LIMIT + 1), headers=JSON)
        assert r.status_code == 413
        assert r.json() == TOO_LARGE
        r = await client.put("/mobu/flocks", content=padded(flock_body(), LIMIT), headers=JSON)
        assert r.status_code == 201
        r = await client.post("/mobu/run", content=b"x" * 10 * LIMIT, headers=JSON)
        assert r.status_code == 413


async def test_chunked_body_over_limit(app_factory: AppFactory) -> None:
    """A body without Content-Length is counted as it streams in; over the limit → 413."""
    async with app_factory(limited_config()) as client:
        body = padded(flock_body(), 3 * LIMIT)
        r = await client.put("/mobu/flocks", content=chunks(body), headers=JSON)
        assert "content-length" not in r.request.headers
        assert r.status_code == 413
        assert r.json() == TOO_LARGE
        r = await client.put(
            "/mobu/flocks", content=chunks(padded(flock_body(), LIMIT)), headers=JSON
        )
        assert r.status_code == 201
        assert (await client.get("/mobu/flocks")).json() == ["test"]


async def test_rejected_put_leaves_flock_running(events: Events) -> None:
    """After a refused PUT of the same name, /health answers and the old flock still runs."""
    config = limited_config()
    context = ProcessContext(config, logger=null_logger(), events=events)
    async with serve(create_app(config, context=context)) as url, httpx.AsyncClient() as client:
        r = await client.put(f"{url}/mobu/flocks", json=flock_body(count=2))
        assert r.status_code == 201
        monkeys = r.json()["monkeys"]
        assert events.recorder is not None
        await events.recorder.wait_for("empty_loop", 2)
        big = padded(flock_body(count=1), 2 * LIMIT)
        r = await client.put(f"{url}/mobu/flocks", content=chunks(big), headers=JSON)
        assert r.status_code == 413
        assert (await client.get(f"{url}/health")).json() == {"status": "ok"}
        done = events.recorder.count("empty_loop")
        await events.recorder.wait_for("empty_loop", done + 4)
        r = await client.get(f"{url}/mobu/flocks/test")
        assert [m["name"] for m in r.json()["monkeys"]] == [m["name"] for m in monkeys]


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 60)
        sock.close()


async def raw_request(url: str, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send raw bytes, read the answer until the server closes; return status and body."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 60)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, content = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), content


async def test_real_server_refuses_early(events: Events) -> None:
    """Over a real socket: a declared 100 MB body is refused unread, a chunked one as well."""
    config = limited_config()
    context = ProcessContext(config, logger=null_logger(), events=events)
    async with serve(create_app(config, context=context)) as url:
        head = (
            b"PUT /mobu/flocks HTTP/1.1\r\nHost: mobu\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n"
        )
        status, content = await raw_request(url, head)
        assert status == 413
        assert json.loads(content) == TOO_LARGE

        head = (
            b"PUT /mobu/flocks HTTP/1.1\r\nHost: mobu\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        piece = b" " * 1000
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(5)) + b"0\r\n\r\n"
        status, content = await raw_request(url, head, chunked)
        assert status == 413
        assert json.loads(content) == TOO_LARGE
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{url}/health")).status_code == 200

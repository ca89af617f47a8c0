"""Reference floors for the HTTP benchmark: N bare coroutines looping GET on one shared client.

No mobu at all: one HTTP client library, used the way its documentation recommends for
throughput (one shared session/client, its pool sized to the users), with nothing around the
request but a ``perf_counter`` timer. Comparing these loops with each other is the client
decision of issue 17 (libraries against mobu's own ``fasthttp``); comparing a loop with the
mobu flock on the same client is mobu's own overhead.

Clients: ``fast`` (mobu.storage.fasthttp, a request prepared once as HTTPCheck does),
``aiohttp``, ``aiosonic``, ``pyreqwest``, ``curl-cffi`` (``AsyncSession``), ``httpx``.

Usage: ``python bench/_client_loop.py --out FILE --client NAME URL N SECONDS``
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

Get = Callable[[], Awaitable[bool]]


@asynccontextmanager
async def _fast(url: str, users: int) -> AsyncIterator[Get]:
    from mobu.storage.fasthttp import FastHTTPClient

    client = FastHTTPClient()
    request = client.prepare("GET", url)

    async def get() -> bool:
        response = await client.send(request)
        return response.status == 200

    try:
        yield get
    finally:
        await client.aclose()


@asynccontextmanager
async def _aiohttp(url: str, users: int) -> AsyncIterator[Get]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def get() -> bool:
            async with session.get(url) as response:
                await response.read()
                return response.status == 200

        yield get


@asynccontextmanager
async def _aiosonic(url: str, users: int) -> AsyncIterator[Get]:
    import aiosonic
    from aiosonic.pools import PoolConfig

    connector = aiosonic.TCPConnector(pool_configs={":default": PoolConfig(size=users)})
    async with aiosonic.HTTPClient(connector=connector) as client:

        async def get() -> bool:
            response = await client.get(url)
            await response.content()
            return response.status_code == 200

        yield get


@asynccontextmanager
async def _pyreqwest(url: str, users: int) -> AsyncIterator[Get]:
    from pyreqwest.client import ClientBuilder

    async with ClientBuilder().max_connections(users).build() as client:

        async def get() -> bool:
            response = await client.get(url).build().send()
            await response.bytes()
            return response.status == 200

        yield get


@asynccontextmanager
async def _curl_cffi(url: str, users: int) -> AsyncIterator[Get]:
    from curl_cffi import AsyncSession

    async with AsyncSession(max_clients=users) as session:

        async def get() -> bool:
            response = await session.get(url)
            return response.status_code == 200

        yield get


@asynccontextmanager
async def _httpx(url: str, users: int) -> AsyncIterator[Get]:
    import httpx

    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(limits=limits) as client:

        async def get() -> bool:
            response = await client.get(url)
            return response.status_code == 200

        yield get


CLIENTS = {
    "fast": _fast,
    "aiohttp": _aiohttp,
    "aiosonic": _aiosonic,
    "pyreqwest": _pyreqwest,
    "curl-cffi": _curl_cffi,
    "httpx": _httpx,
}


async def _run(client: str, url: str, users: int, seconds: float) -> dict[str, Any]:
    durations = array.array("d")
    failures = 0
    async with CLIENTS[client](url, users) as get:
        end = time.perf_counter() + seconds

        async def user() -> None:
            nonlocal failures
            while (start := time.perf_counter()) < end:
                try:
                    ok = await get()
                except Exception:
                    ok = False
                if ok:
                    durations.append(time.perf_counter() - start)
                else:
                    failures += 1

        begin = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(users)))
        elapsed = time.perf_counter() - begin
    ordered = sorted(durations)
    count = len(ordered)
    return {
        "checks": count,
        "failures": failures,
        "elapsed": elapsed,
        "rate": count / elapsed,
        "p50_ms": ordered[count // 2] * 1000 if count else None,
        "p99_ms": ordered[min(count - 1, int(count * 0.99))] * 1000 if count else None,
        "mean_ms": sum(ordered) / count * 1000 if count else None,
    }


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--client", choices=sorted(CLIENTS), default="aiohttp")
    parser.add_argument("url")
    parser.add_argument("users", type=int)
    parser.add_argument("seconds", type=float)
    args = parser.parse_args()
    if os.environ.get("MOBU_BENCH_UVLOOP") == "1":
        import uvloop

        uvloop.install()
    result = asyncio.run(_run(args.client, args.url, args.users, args.seconds))
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()

"""Which HTTP client should HTTPCheck use? Shared httpx.AsyncClient vs shared aiohttp session.

Same process, same target, same concurrency, back to back; prints requests per second of
client CPU for each, and the ratio. Usage: ``.venv/bin/python bench/http_clients.py [--users 50]
[--seconds 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
import psutil

TARGET = r"""
import asyncio, os, sys
from aiohttp import web
async def ok(request):
    return web.Response(text="ok")
async def main():
    app = web.Application(); app.router.add_get("/", ok)
    runner = web.AppRunner(app, access_log=None); await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0); await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def start_target() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", TARGET], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
        os.sched_setaffinity(proc.pid, {1})
        os.sched_setaffinity(0, {0})
    return proc, f"http://127.0.0.1:{port}/"


async def drive(
    get: Callable[[], Awaitable[None]], users: int, seconds: float
) -> tuple[int, float]:
    count = 0
    deadline = time.monotonic() + seconds

    async def user() -> None:
        nonlocal count
        while time.monotonic() < deadline:
            await get()
            count += 1

    me = psutil.Process()
    cpu0 = sum(me.cpu_times()[:2])
    async with asyncio.TaskGroup() as tg:
        for _ in range(users):
            tg.create_task(user())
    cpu = sum(me.cpu_times()[:2]) - cpu0
    return count, cpu


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    proc, url = start_target()
    try:
        rows = []
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=None)) as client:

            async def get_httpx() -> None:
                response = await client.get(url)
                response.raise_for_status()

            rows.append(
                ("httpx.AsyncClient (shared)", *await drive(get_httpx, args.users, args.seconds))
            )
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def get_aiohttp() -> None:
                async with session.get(url) as response:
                    await response.read()
                    response.raise_for_status()

            rows.append(
                (
                    "aiohttp.ClientSession (shared)",
                    *await drive(get_aiohttp, args.users, args.seconds),
                )
            )
    finally:
        proc.terminate()
        proc.wait()
    print(f"users={args.users} seconds={args.seconds}")
    print(f"{'client':34} {'requests':>9} {'req/s':>9} {'client CPU s':>13} {'req/s per core':>15}")
    per_core = []
    for name, count, cpu in rows:
        per_core.append(count / cpu if cpu else float("nan"))
        print(f"{name:34} {count:9d} {count / args.seconds:9.0f} {cpu:13.2f} {per_core[-1]:15.0f}")
    print(f"aiohttp / httpx per core: {per_core[1] / per_core[0]:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())

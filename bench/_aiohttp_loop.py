"""Reference floor for the HTTP benchmark: N bare coroutines looping GET on one aiohttp session.

No mobu at all: the same client (aiohttp, one shared session) with nothing around the request
but a perf_counter timer. The gap between this and the mobu flock is mobu's own overhead.

Usage: ``python bench/_aiohttp_loop.py --out FILE URL N SECONDS``
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import os
import time
from pathlib import Path

import aiohttp


async def _run(url: str, users: int, seconds: float) -> dict[str, float | int | None]:
    durations = array.array("d")
    failures = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        end = time.perf_counter() + seconds

        async def user() -> None:
            nonlocal failures
            while (start := time.perf_counter()) < end:
                try:
                    async with session.get(url) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
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
    parser.add_argument("url")
    parser.add_argument("users", type=int)
    parser.add_argument("seconds", type=float)
    args = parser.parse_args()
    if os.environ.get("MOBU_BENCH_UVLOOP") == "1":
        import uvloop

        uvloop.install()
    result = asyncio.run(_run(args.url, args.users, args.seconds))
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()

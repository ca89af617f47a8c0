"""The mobu side of the benchmarks, run in its own (pinned) process by the driver scripts.

Uses the real engine: ``ProcessContext`` → ``FlockManager`` → ``Flock`` → ``Monkey`` →
``Business``, with per-monkey log files as in the service's default configuration.

Modes (each writes one JSON object to ``--out``):

``idle BUSINESS N [--url URL] [--idle-time S] [--lag-seconds S] [--settle S]``
    Start N monkeys, wait until each finished its first iteration, read RSS after gc, probe the
    event-loop lag while they idle, optionally read RSS again after ``--settle`` more seconds,
    then time the stop of the flock.
``load URL N SECONDS``
    N HTTPCheck monkeys with ``idle_time`` 0 for SECONDS; every check's duration is recorded.
``stats URL N CHECKPOINTS``
    N HTTPCheck monkeys with ``idle_time`` 0; RSS after each number of checks in CHECKPOINTS
    (comma separated).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import gc
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import structlog

from mobu.config import Config
from mobu.events import EventBase
from mobu.factory import ProcessContext
from mobu.models.flock import FlockConfig


class Collector:
    """Event sink: counts events, records HTTP check durations, wakes waiters at a count."""

    def __init__(self, *, record: bool = False) -> None:
        self.count = 0
        self.failures = 0
        self.record = record
        self.durations = array.array("d")
        self._goal = 0
        self._reached: asyncio.Event | None = None

    def publish(self, name: str, payload: EventBase) -> None:
        self.count += 1
        if not getattr(payload, "success", True):
            self.failures += 1
        if self.record:
            duration = getattr(payload, "duration", None)
            if duration is not None:
                self.durations.append(duration.total_seconds())
        if self._reached is not None and self.count >= self._goal:
            self._reached.set()

    async def wait(self, goal: int) -> None:
        """Return once ``goal`` events have been published in total."""
        if self.count >= goal:
            return
        self._goal = goal
        self._reached = asyncio.Event()
        await self._reached.wait()
        self._reached = None


def quiet_logger() -> Any:
    """Main logger of the process: warnings and errors to stderr only."""
    return structlog.wrap_logger(
        structlog.PrintLogger(sys.stderr),
        processors=[structlog.processors.KeyValueRenderer(key_order=["event"])],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )


def flock(name: str, business: str, count: int, options: dict[str, Any]) -> FlockConfig:
    """A flock of generated users."""
    return FlockConfig.model_validate(
        {
            "name": name,
            "count": count,
            "user_spec": {"username_prefix": f"bot-mobu-{name}-"},
            "business": {"type": business, "options": options, "restart": True},
        }
    )


def rss() -> int:
    """RSS of this process after a full collection, in bytes."""
    gc.collect()
    return psutil.Process().memory_info().rss


async def lag_probe(seconds: float, tick: float = 0.01) -> list[float]:
    """Event-loop lag: how late each of many short sleeps wakes up, in seconds.

    Timed with ``perf_counter``, not the loop's clock (uvloop's has millisecond resolution).
    """
    samples: list[float] = []
    end = time.perf_counter() + seconds
    while (start := time.perf_counter()) < end:
        await asyncio.sleep(tick)
        samples.append(max(0.0, time.perf_counter() - start - tick))
    return samples


def _options(business: str, url: str | None, idle: float) -> dict[str, Any]:
    options: dict[str, Any] = {"idle_time": idle, "error_idle_time": 1}
    if business == "HTTPCheck":
        options["url"] = url
        client = os.environ.get("MOBU_BENCH_HTTP_CLIENT")
        if client:  # "fast" (HTTPCheck's default) or "aiohttp"
            options["client"] = client
    return options


async def idle_mode(args: argparse.Namespace) -> dict[str, Any]:
    collector = Collector()
    context = ProcessContext(Config(), logger=quiet_logger())
    context.events.add_sink(collector)
    options = _options(args.business, args.url, args.idle_time)
    async with context:
        manager = context.manager
        await manager.start_flock(flock("warm", args.business, 1, options))
        await collector.wait(1)
        before = rss()
        start = time.perf_counter()
        await manager.start_flock(flock("bench", args.business, args.count, options))
        started = time.perf_counter() - start
        await collector.wait(1 + args.count)
        first_done = time.perf_counter() - start
        after = rss()
        lag = sorted(await lag_probe(args.lag_seconds))
        settled = None
        if args.settle > 0:
            # Let the shared pool's idle keep-alive connections expire (aiohttp: 15 s), then
            # read again: what a monkey costs when it idles longer than that.
            await asyncio.sleep(args.settle)
            settled = rss()
        iterations = collector.count - 1
        start = time.perf_counter()
        await manager.stop_flock("bench")
        stopped = time.perf_counter() - start
        after_stop = rss()
    return {
        "business": args.business,
        "count": args.count,
        "rss_before": before,
        "rss_after": after,
        "rss_after_stop": after_stop,
        "rss_settled": settled,
        "bytes_per_monkey_settled": None if settled is None else (settled - before) / args.count,
        "bytes_per_monkey": (after - before) / args.count,
        "start_seconds": started,
        "first_iteration_seconds": first_done,
        "lag_samples": len(lag),
        "lag_p50_ms": lag[len(lag) // 2] * 1000,
        "lag_p99_ms": lag[min(len(lag) - 1, int(len(lag) * 0.99))] * 1000,
        "lag_max_ms": lag[-1] * 1000,
        "iterations": iterations,
        "failures": collector.failures,
        "stop_seconds": stopped,
    }


async def load_mode(args: argparse.Namespace) -> dict[str, Any]:
    collector = Collector(record=True)
    context = ProcessContext(Config(), logger=quiet_logger())
    context.events.add_sink(collector)
    async with context:
        await context.manager.start_flock(
            flock("load", "HTTPCheck", args.count, _options("HTTPCheck", args.url, 0))
        )
        start = time.perf_counter()
        await asyncio.sleep(args.seconds)
        elapsed = time.perf_counter() - start
        done = collector.count
        await context.manager.stop_flock("load")
    durations = sorted(collector.durations)
    return {
        "checks": done,
        "failures": collector.failures,
        "elapsed": elapsed,
        "rate": done / elapsed,
        "p50_ms": durations[len(durations) // 2] * 1000 if durations else None,
        "p99_ms": durations[min(len(durations) - 1, int(len(durations) * 0.99))] * 1000
        if durations
        else None,
        "mean_ms": sum(durations) / len(durations) * 1000 if durations else None,
    }


async def stats_mode(args: argparse.Namespace) -> dict[str, Any]:
    collector = Collector()
    context = ProcessContext(Config(), logger=quiet_logger())
    context.events.add_sink(collector)
    checkpoints = [int(c) for c in args.checkpoints.split(",")]
    points = []
    async with context:
        base = rss()
        start = time.perf_counter()
        await context.manager.start_flock(
            flock("stats", "HTTPCheck", args.count, _options("HTTPCheck", args.url, 0))
        )
        for goal in checkpoints:
            await collector.wait(goal)
            points.append(
                {"checks": collector.count, "rss": rss(), "seconds": time.perf_counter() - start}
            )
        await context.manager.stop_flock("stats")
    return {"count": args.count, "rss_base": base, "points": points, "failures": collector.failures}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    sub = parser.add_subparsers(dest="mode", required=True)
    idle = sub.add_parser("idle")
    idle.add_argument("business")
    idle.add_argument("count", type=int)
    idle.add_argument("--url")
    idle.add_argument("--idle-time", type=float, default=10.0)
    idle.add_argument("--lag-seconds", type=float, default=12.0)
    idle.add_argument("--settle", type=float, default=0.0)
    load = sub.add_parser("load")
    load.add_argument("url")
    load.add_argument("count", type=int)
    load.add_argument("seconds", type=float)
    stats = sub.add_parser("stats")
    stats.add_argument("url")
    stats.add_argument("count", type=int)
    stats.add_argument("checkpoints")
    args = parser.parse_args()
    if os.environ.get("MOBU_BENCH_UVLOOP") == "1":
        import uvloop

        uvloop.install()
    mode = {"idle": idle_mode, "load": load_mode, "stats": stats_mode}[args.mode]
    result = asyncio.run(mode(args))
    result["loop"] = "uvloop" if os.environ.get("MOBU_BENCH_UVLOOP") == "1" else "asyncio"
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()

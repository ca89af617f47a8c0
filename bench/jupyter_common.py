"""Shared pieces of the Jupyter benchmarks: a hub, a recording sink, a mobu process context."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog

from mobu.config import Config
from mobu.events import EventBase, Events
from mobu.factory import ProcessContext
from mobu.platform.hub import LocalHub

RESULTS = Path(__file__).resolve().parent / "results"


class TimedSink:
    """Records (perf_counter, name, payload) of every event, for back-to-back timings."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str, EventBase]] = []
        self._changed = asyncio.Event()

    def publish(self, name: str, payload: EventBase) -> None:
        """Record an event with the time it was published."""
        self.events.append((time.perf_counter(), name, payload))
        self._changed.set()

    async def wait_count(self, name: str, count: int) -> None:
        """Wait until ``count`` events named ``name`` were published."""
        while len(self.times(name)) < count:
            self._changed.clear()
            await self._changed.wait()

    def times(self, name: str) -> list[float]:
        """Publication times of the events named ``name``."""
        return [t for t, n, _ in self.events if n == name]

    def payloads(self, name: str) -> list[EventBase]:
        """Payloads of the events named ``name``."""
        return [p for _, n, p in self.events if n == name]


@asynccontextmanager
async def mobu_context(hub: LocalHub) -> AsyncIterator[tuple[ProcessContext, TimedSink]]:
    """A mobu process context whose monkeys get tokens minted on ``hub``."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    sink = TimedSink()
    events = Events([sink])
    config = Config(
        log_monkeys_to_file=False,
        discovery={"services": {"hub": hub.url}},
        identity={"provider": "jupyterhub", "admin_token": hub.admin_token},
    )
    context = ProcessContext(config, logger=structlog.get_logger("bench"), events=events)
    async with context:
        yield context, sink


def describe(values: list[float]) -> dict[str, float]:
    """Median, mean, p10 and p90 in milliseconds."""
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values) * 1000, 3),
        "mean_ms": round(statistics.fmean(values) * 1000, 3),
        "p10_ms": round(pick(0.1) * 1000, 3),
        "p90_ms": round(pick(0.9) * 1000, 3),
    }


def save(name: str, data: dict[str, Any]) -> None:
    """Print ``data`` as JSON and keep it under bench/results/."""
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(data, indent=2)
    (RESULTS / f"{name}.json").write_text(text + "\n")
    sys.stdout.write(text + "\n")

"""The mobu side of ``bench/soak.py``: a mixed flock set in one process, sampled over time.

Run by the driver in its own (pinned) process as ``python bench/_soak_worker.py SPEC OUT``.
SPEC is a JSON file written by the driver: ``config`` (the mobu configuration: discovery of the
local hub and DaCHS, the identity), ``flocks`` (flock configurations), ``seconds`` (real-time
bound), ``equivalent_events`` (stop once this many EmptyLoop + HTTPCheck iterations are done),
``interval`` (seconds between samples). The real engine runs it: ``ProcessContext`` →
``FlockManager`` → ``Flock`` → ``Monkey`` → ``Business``, with per-monkey log files.

Each sample holds the process's RSS after ``gc.collect()``, its open file descriptors, threads,
asyncio tasks, the size on disk of what its monkeys write (its private ``TMPDIR`` and the data
directory's ``logs``, ``work`` and ``repos``: per-monkey logs, scratch files, clones), the size of
the history store (kept apart: it grows with time by design, up to its retention), and the events
counted per name so far. OUT gets one
JSON object.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _mobu_worker import quiet_logger

from mobu.config import Config
from mobu.events import EventBase
from mobu.factory import ProcessContext
from mobu.models.flock import FlockConfig

CLOCK_EVENTS = ("empty_loop", "http_check")
"""Events whose count is the soak's clock (the EmptyLoop and HTTPCheck iterations)."""


class Counting:
    """Event sink: counts events per name and failures, wakes a waiter at a clock count."""

    def __init__(self) -> None:
        self.names: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.clock = 0
        self._goal = 0
        self.reached = asyncio.Event()

    def publish(self, name: str, payload: EventBase) -> None:
        """Count one event."""
        self.names[name] += 1
        if not getattr(payload, "success", True):
            self.failures[name] += 1
        if name in CLOCK_EVENTS:
            self.clock += 1
            if self._goal and self.clock >= self._goal:
                self.reached.set()

    def set_goal(self, goal: int) -> None:
        """Set ``reached`` once the clock has counted ``goal`` iterations."""
        self._goal = goal
        if self.clock >= goal:
            self.reached.set()


def tree_bytes(path: Path) -> int:
    """Total size of the regular files under ``path``."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue  # removed while walking
    return total


WRITTEN = ("logs", "work", "repos")
"""The data directory's parts that the monkeys write to (bounded: logs rotate, work is cleaned)."""


def sample(counting: Counting, start: float, tmp: Path, data: Path) -> dict[str, Any]:
    """One reading of the process (``tmp``: its TMPDIR; ``data``: its data directory)."""
    gc.collect()
    process = psutil.Process()
    return {
        "seconds": time.perf_counter() - start,
        "clock": counting.clock,
        "rss": process.memory_info().rss,
        "fds": process.num_fds(),
        "threads": process.num_threads(),
        "tasks": len(asyncio.all_tasks()),
        "disk_bytes": tree_bytes(tmp) + sum(tree_bytes(data / name) for name in WRITTEN),
        "history_bytes": tree_bytes(data / "history"),
        "events": dict(counting.names),
    }


async def soak(spec: dict[str, Any]) -> dict[str, Any]:
    """Start the flocks, sample until the real-time or the equivalent-time bound, stop."""
    tmp = Path(tempfile.gettempdir())
    counting = Counting()
    counting.set_goal(int(spec["equivalent_events"]))
    context = ProcessContext(Config(**spec["config"]), logger=quiet_logger())
    context.events.add_sink(counting)
    samples = []
    data = context.data_dirs.root
    async with context:
        base = sample(counting, time.perf_counter(), tmp, data)
        start = time.perf_counter()
        for flock in spec["flocks"]:
            await context.manager.start_flock(FlockConfig.model_validate(flock))
        deadline = start + float(spec["seconds"])
        while not counting.reached.is_set() and time.perf_counter() < deadline:
            remaining = min(float(spec["interval"]), deadline - time.perf_counter())
            with contextlib.suppress(TimeoutError):  # the sampling interval is up
                await asyncio.wait_for(counting.reached.wait(), timeout=max(remaining, 0.0))
            samples.append(sample(counting, start, tmp, data))
        stop_start = time.perf_counter()
        for flock in spec["flocks"]:
            await context.manager.stop_flock(flock["name"])
        stop_seconds = time.perf_counter() - stop_start
        after_stop = sample(counting, start, tmp, data)
    return {
        "base": base,
        "samples": samples,
        "after_stop": after_stop,
        "stop_seconds": stop_seconds,
        "failures": dict(counting.failures),
        "reached_equivalent": counting.reached.is_set(),
    }


def main() -> None:
    """Entry point."""
    spec = json.loads(Path(sys.argv[1]).read_text())
    if os.environ.get("MOBU_BENCH_UVLOOP") == "1":
        import uvloop

        uvloop.install()
    result = asyncio.run(soak(spec))
    result["loop"] = "uvloop" if os.environ.get("MOBU_BENCH_UVLOOP") == "1" else "asyncio"
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()

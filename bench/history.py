"""History store cost and size (issue 19): 1,000 HTTPCheck monkeys writing 60 compressed minutes.

1. **Write cost on the monkeys' loop.** One process runs a flock of ``--monkeys`` HTTPCheck
   monkeys (``idle_time`` 0) against the loopback target through the real process context,
   history on its embedded SQLite store. The run alternates phases with the history recorder
   attached to the events fan-out and detached (same process, same flock, same target), each
   phase the same number of checks; the history clock is compressed so that one "minute" is
   ``--per-minute`` checks (1,000 monkeys checking every 10 s make 6,000 a minute) and the
   attached phases together cover ``--minutes``. Figure: checks per CPU-second of the process
   (every thread, the store's writer thread included) with history on vs off. Target ≥ 0.95.
2. **Database size per flock-day**: one day of minute rows of one flock (histograms from the
   run) written to a fresh SQLite store, and the same day once rolled up to hours.
3. **History query time for 30 days of one flock** on SQLite in its steady state (7 days of
   minute rows, 23 of hourly rows), through the same reader the API uses: the default step of a
   30-day range, 1-hour steps, and the last 24 hours in minutes. Target < 100 ms (wall
   clock; the CPU time is reported too, since a shared machine's load stretches the wall clock).

Usage: ``python bench/history.py [--monkeys 1000] [--minutes 60] [--per-minute 6000]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import Target, fmt, machine, save, table

from mobu.config import Config
from mobu.events import EventBase
from mobu.factory import ProcessContext
from mobu.history import History, HistoryConfig, HistoryReader
from mobu.history.recorder import RELATIVE_ERROR, BucketRow
from mobu.history.store import HOUR
from mobu.models.flock import FlockConfig
from mobu.services.builder import null_logger
from mobu.services.stats import Tally

T0 = 1_800_000_000.0
PHASES = 8
"""Phases of the write-cost run (half with history on), alternating, off first."""


class Counter:
    """Counts the flock's events (an event sink)."""

    def __init__(self) -> None:
        self.n = 0

    def publish(self, name: str, payload: EventBase) -> None:
        self.n += 1


async def _wait_count(counter: Counter, target: int) -> None:
    while counter.n < target:
        await asyncio.sleep(0.05)  # a benchmark's sampling period, not a test


async def write_cost(url: str, monkeys: int, minutes: int, per_minute: int) -> dict[str, Any]:
    """Checks per CPU-second with the history recorder attached and detached."""
    with tempfile.TemporaryDirectory() as tmp, Target() as target:
        config = Config(
            log_monkeys_to_file=False,
            data_dir=Path(tmp),
            history={"flush_interval": "1s", "maintenance_interval": "1h"},
        )
        context = ProcessContext(config, logger=null_logger())
        history = context.history
        assert history is not None
        recorder = history.recorder
        recorder.clock = lambda: T0 + 60 * recorder.seen_events / per_minute
        counter = Counter()
        context.events.add_sink(counter)
        context.events.remove_sink(recorder)
        phase_events = minutes * per_minute // (PHASES // 2)
        flock = FlockConfig.model_validate({
            "name": "http", "count": monkeys, "user_spec": {"username_prefix": "bot-mobu-http"},
            "business": {"type": "HTTPCheck", "options": {"url": target.url, "idle_time": 0}},
        })  # fmt: skip
        phases: list[dict[str, Any]] = []
        async with context:
            await context.manager.start_flock(flock)
            await _wait_count(counter, 2 * monkeys)  # warm-up: every monkey connected
            for index in range(PHASES):
                on = index % 2 == 1
                if on:
                    context.events.add_sink(recorder)
                start, cpu, wall = counter.n, time.process_time(), time.monotonic()
                await _wait_count(counter, start + phase_events)
                done = counter.n - start
                phases.append({
                    "history": on, "checks": done, "cpu": time.process_time() - cpu,
                    "wall": time.monotonic() - wall,
                })  # fmt: skip
                if on:
                    context.events.remove_sink(recorder)
            await context.manager.stop_flock("http")
            await history.flush()
            status = history.status()
    rate = {
        on: sum(p["checks"] for p in phases if p["history"] is on)
        / sum(p["cpu"] for p in phases if p["history"] is on)
        for on in (True, False)
    }
    return {
        "phases": phases,
        "per_core_on": rate[True],
        "per_core_off": rate[False],
        "ratio": rate[True] / rate[False],
        "history_events": status.written_events,
        "dropped_events": status.dropped_events,
        "minutes_written": status.written_rows,
    }


def _template(per_minute: int) -> Tally:
    """A minute's tally of HTTPCheck-like latencies (log-normal around 2 ms, 1 % failures)."""
    import random

    rng = random.Random(19)
    tally = Tally(RELATIVE_ERROR)
    for i in range(per_minute):
        tally.add(i % 100 != 0, rng.lognormvariate(-6.2, 0.5))
    return tally


def _rows(start: int, count: int, step: int, template: Tally) -> list[BucketRow]:
    return [
        BucketRow("flock", "http_check", "HTTPCheck", start + i * step, template, 1000, step)
        for i in range(count)
    ]


async def size_and_query(per_minute: int) -> dict[str, Any]:
    """Bytes per flock-day (minutes, hours) and the reader's time for 30 days of one flock."""
    template = _template(per_minute)
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[str, Any] = {}
        for name, step, count in (("minute", 60, 1440), ("hour", HOUR, 24)):
            sizes = []
            for rows in ([], _rows(int(T0), count, step, template)):
                history = History(
                    HistoryConfig(url=f"sqlite:///{tmp}/{name}.sqlite3"),
                    data_dir=Path(tmp),
                    logger=null_logger(),
                )
                await history.start()
                await history.store.write(rows, [])
                await history.aclose()  # the last connection closed: the WAL is checkpointed
                sizes.append(history.store.size_bytes() or 0)
            empty = sizes[0]
            results[f"bytes_per_flock_day_{name}s"] = (history.store.size_bytes() or 0) - empty
        now = T0 + 30 * 86_400
        history = History(
            HistoryConfig(url=f"sqlite:///{tmp}/steady.sqlite3"),
            data_dir=Path(tmp),
            logger=null_logger(),
            clock=lambda: now,
        )
        await history.start()
        cutoff = history.cutoff(now)
        await history.store.write(_rows(int(T0), (cutoff - int(T0)) // HOUR, HOUR, template), [])
        minutes = (int(now) - cutoff) // 60
        for offset in range(0, minutes, 2000):
            chunk = _rows(cutoff + offset * 60, min(2000, minutes - offset), 60, template)
            await history.store.write(chunk, [])
        await history.maintain(now)  # rolls the minute rows' finished hours up
        reader = HistoryReader(history)
        queries = {"30d default step (6h)": (T0, now, 6 * HOUR), "30d, 1h": (T0, now, HOUR),
                   "24h, 1m": (now - 86_400, now, 60)}  # fmt: skip
        timings, cpu = {}, {}
        for label, (since, until, step) in queries.items():
            seconds, used = [], []
            for _ in range(7):
                begin, begin_cpu = time.perf_counter(), time.process_time()
                answer = await reader.flock_history("flock", since, until, step)
                seconds.append(time.perf_counter() - begin)
                used.append(time.process_time() - begin_cpu)
            assert answer.totals["http_check"].count > 0
            timings[label] = statistics.median(seconds[1:]) * 1000
            cpu[label] = statistics.median(used[1:]) * 1000
        results["query_ms"] = timings
        results["query_cpu_ms"] = cpu  # the process's CPU (store thread included): load-proof
        results["load_average"] = os.getloadavg()
        results["steady_rows"] = (await history.store.counts())[0]
        await history.aclose()
    return results


def main() -> None:
    """Run both parts, print the tables, save bench/results/history.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monkeys", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--per-minute", type=int, default=6000)
    args = parser.parse_args()
    cost = asyncio.run(write_cost("", args.monkeys, args.minutes, args.per_minute))
    size = asyncio.run(size_and_query(args.per_minute))
    rows = [
        ["HTTPCheck checks per CPU-second, history off", fmt(cost["per_core_off"])],
        ["HTTPCheck checks per CPU-second, history on", fmt(cost["per_core_on"])],
        ["ratio on / off (target ≥ 0.95)", f"{cost['ratio']:.3f}"],
        ["events written / dropped", f"{cost['history_events']:,} / {cost['dropped_events']:,}"],
        ["SQLite bytes per flock-day, minute rows", f"{size['bytes_per_flock_day_minutes']:,}"],
        ["SQLite bytes per flock-day, hourly rows", f"{size['bytes_per_flock_day_hours']:,}"],
    ]
    rows += [[f"query {k} (target < 100 ms)", f"{v:.1f} ms"] for k, v in size["query_ms"].items()]
    rows += [[f"query {k}, CPU time", f"{v:.1f} ms"] for k, v in size["query_cpu_ms"].items()]
    load = ", ".join(f"{x:.1f}" for x in size["load_average"])
    rows += [["load average during the queries (1, 5, 15 min)", load]]
    markdown = table(["measure", "value"], rows)
    print(markdown)
    save("history", {
        "machine": machine(), "args": vars(args), "write": cost, "store": size,
        "markdown": markdown,
    })  # fmt: skip


if __name__ == "__main__":
    main()

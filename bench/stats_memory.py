"""Statistics memory over time: RSS of a long-running HTTPCheck flock (issue 8, item 3).

A flock of 1,000 HTTPCheck monkeys against the loopback target, time-compressed: the monkeys run
with ``idle_time`` 0, and one "minute" is the 6,000 checks that 1,000 monkeys with a 10 s
``idle_time`` make in a minute. RSS (after ``gc.collect()``) is read after 1, 2, 5, 10, 20, 30,
45 and 60 such minutes, i.e. 6,000 … 360,000 checks. Everything the engine keeps per check
(counters, events, per-monkey logs, and whatever sinks the process context configures) is
included. Pass: the slope from minute 20 to minute 60 is about zero (< 1 MB per hour-equivalent;
the first minutes include one-off growth: pooled connections, and each monkey's log buffer
filling up to its 4 KB flush size).

Usage: ``python bench/stats_memory.py [--monkeys 1000] [--minutes 60] [--loop auto]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH,
    PYTHON,
    Target,
    fmt,
    generator_core,
    loop_env,
    read_json,
    save,
    spawn,
    stop,
    table,
    temporary_file,
)

CHECKS_PER_MINUTE_PER_MONKEY = 6  # idle_time 10 s
SLOPE_LIMIT_MB = 1.0
STEADY_FROM = 20
"""Minute from which the slope is taken: by then every monkey's log buffer (about 80 lines at
six a minute) has filled and flushed once, the last one-off growth."""


def run(monkeys: int, minutes: int, loop: str) -> dict[str, Any]:
    """Run the flock and read RSS at the checkpoints."""
    marks = [m for m in (1, 2, 5, 10, 20, 30, 45, 60, 120, 240) if m <= minutes]
    per_minute = monkeys * CHECKS_PER_MINUTE_PER_MONKEY
    checkpoints = ",".join(str(m * per_minute) for m in marks)
    with Target() as target, temporary_file(".json") as out:
        argv = [PYTHON, str(BENCH / "_mobu_worker.py"), "--out", str(out), "stats", target.url,
                str(monkeys), checkpoints]  # fmt: skip
        process = spawn(argv, core=generator_core(), env=loop_env(loop), stderr=subprocess.PIPE)
        try:
            _, stderr = process.communicate(timeout=900)
        finally:
            stop(process)
        if process.returncode != 0:
            raise RuntimeError(f"mobu worker failed: {stderr[-2000:]}")
        result = read_json(out)
    points = result["points"]
    for mark, point in zip(marks, points, strict=True):
        point["minute"] = mark
    tail = [p for p in points if p["minute"] >= STEADY_FROM]
    slope = _slope([p["minute"] for p in tail], [p["rss"] / 2**20 for p in tail]) * 60
    first = points[0]["rss"]
    rows = [
        [
            f"{p['minute']} min",
            fmt(p["checks"]),
            f"{p['seconds']:.1f}",
            f"{p['rss'] / 2**20:.1f}",
            f"{(p['rss'] - first) / 2**20:+.1f}",
        ]
        for p in points
    ]
    text = table(
        ["equivalent time", "checks done", "real seconds", "RSS MB", "Δ vs 1 min MB"], rows
    ) + (
        f"\n\n{fmt(monkeys)} HTTPCheck monkeys ({result['loop']}); one minute = {fmt(per_minute)}"
        f" checks (idle_time 10 s); RSS before the flock {result['rss_base'] / 2**20:.1f} MB;"
        f" failures {result['failures']}. Least-squares slope from minute"
        f" {STEADY_FROM} on (after the one-off growth: pooled connections, log buffers):"
        f" **{slope:+.2f} MB per hour-equivalent**"
        f" ({'about zero: pass' if abs(slope) < SLOPE_LIMIT_MB else 'not flat: FAIL'})."
    )
    return {"points": points, "slope_mb_per_hour": slope, "loop": result["loop"],
            "failures": result["failures"], "markdown": text}  # fmt: skip


def _slope(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 2:
        return float("nan")
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    num = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mean_x) ** 2 for x in xs)
    return num / den


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monkeys", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto")
    args = parser.parse_args()
    result = run(args.monkeys, args.minutes, args.loop)
    print(result["markdown"])
    save("stats_memory", {"args": vars(args), **result})


if __name__ == "__main__":
    main()

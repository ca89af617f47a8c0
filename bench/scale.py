"""Many idle EmptyLoop monkeys in one process (issue 2, "Benchmark").

N EmptyLoop monkeys (``idle_time`` 10 s) run by the real engine (``ProcessContext`` →
``FlockManager``) in one process pinned to one core, with per-monkey log files as in the
service's default configuration. Reports the time to start the flock and until every monkey
finished its first iteration, RSS per monkey (RSS delta ÷ N after ``gc.collect()``, once every
monkey is idle, relative to the same process with a warm-up flock of one), event-loop lag while
they run (a probe task sleeping 10 ms in a loop for 12 s, so every monkey wakes at least once
during it), and the time to stop the whole flock.

Targets: ≤ 10 KB per idle monkey, lag p99 < 50 ms, stop-all < 5 s.

Usage: ``python bench/scale.py [--counts 1000 10000] [--reps 1] [--loop auto|asyncio|uvloop]``
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
    fmt,
    generator_core,
    loop_env,
    median,
    read_json,
    save,
    spawn,
    stop,
    table,
    temporary_file,
)

TARGET_KB = 10.0
TARGET_LAG_MS = 50.0
TARGET_STOP_S = 5.0


def mobu_idle(
    business: str, count: int, *, loop: str, url: str | None = None, lag_seconds: float = 12.0,
    idle_time: float = 10.0, settle: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    """Run one idle measurement in a fresh pinned worker process."""
    with temporary_file(".json") as out:
        argv = [
            PYTHON, str(BENCH / "_mobu_worker.py"), "--out", str(out), "idle", business,
            str(count), "--lag-seconds", str(lag_seconds), "--idle-time", str(idle_time),
            "--settle", str(settle),
        ]  # fmt: skip
        if url:
            argv += ["--url", url]
        process = spawn(argv, core=generator_core(), env=loop_env(loop), stderr=subprocess.PIPE)
        try:
            _, stderr = process.communicate(timeout=300)
        finally:
            stop(process)
        if process.returncode != 0:
            raise RuntimeError(f"mobu worker failed: {stderr[-2000:]}")
        result: dict[str, Any] = read_json(out)
    return result


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results table (medians over repetitions)."""
    out = []
    for row in rows:
        kb = row["bytes_per_monkey"] / 1024
        ok = (
            kb <= TARGET_KB and row["lag_p99_ms"] < TARGET_LAG_MS
            and row["stop_seconds"] < TARGET_STOP_S
        )  # fmt: skip
        out.append([
            fmt(row["count"]), row["loop"], f"{row['start_seconds']:.2f}",
            f"{row['first_iteration_seconds']:.2f}",
            f"{row['rss_before'] / 2**20:.1f} → {row['rss_after'] / 2**20:.1f}",
            f"**{kb:.2f}**",
            f"{row['lag_p50_ms']:.2f} / **{row['lag_p99_ms']:.2f}** / {row['lag_max_ms']:.1f}",
            f"**{row['stop_seconds']:.2f}**", row["failures"], "yes" if ok else "**no**",
        ])  # fmt: skip
    headers = [
        "EmptyLoop monkeys", "event loop", "start flock s", "all first iterations done s",
        "RSS MB (warm → idle)", "KB per monkey (≤ 10)", "loop lag p50 / p99 (< 50) / max ms",
        "stop all s (< 5)", "failures", "targets met",
    ]  # fmt: skip
    return table(headers, out)


def run(counts: list[int], reps: int, loop: str) -> dict[str, Any]:
    """Measure every count; returns the per-count medians and the raw runs."""
    runs = []
    for rep in range(reps):
        for count in counts:
            result = mobu_idle("EmptyLoop", count, loop=loop)
            runs.append(result)
            print(
                f"rep {rep + 1} N={count}: {result['bytes_per_monkey'] / 1024:.2f} KB/monkey,"
                f" lag p99 {result['lag_p99_ms']:.1f} ms, stop {result['stop_seconds']:.2f} s",
                flush=True,
            )
    rows = []
    for count in counts:
        mine = [r for r in runs if r["count"] == count]
        row = dict(mine[0])
        keys = (
            "bytes_per_monkey", "start_seconds", "first_iteration_seconds", "lag_p50_ms",
            "lag_p99_ms", "lag_max_ms", "stop_seconds", "rss_before", "rss_after",
        )  # fmt: skip
        for key in keys:
            row[key] = median([r[key] for r in mine])
        row["failures"] = sum(r["failures"] for r in mine)
        rows.append(row)
    return {"rows": rows, "runs": runs, "markdown": markdown(rows)}


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto")
    args = parser.parse_args()
    result = run(args.counts, args.reps, args.loop)
    print(result["markdown"])
    save("scale", {"args": vars(args), **result})


if __name__ == "__main__":
    main()

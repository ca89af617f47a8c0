"""Jupyter monkeys at scale: one mobu process holding N NubladoPythonLoop monkeys (issue 17).

Measures the generator, not the platform: the monkeys talk to ``_kernel_standin.py``, a
protocol-correct hub + lab + kernel stand-in (the real message sequence per execution) that
costs a few KB per session, in its own process pinned to the last core. For each N, the mobu
side (``_jupyter_scale_worker.py mobu``: the real engine, per-monkey log files, uvloop) and the
floor (``... floor``: N minimal clients in one process, the same stand-in) run one after the
other in their own process pinned to the first core, in alternating blocks. Each reports: time
until all N executed once, RSS per client with an open kernel websocket, CPU per execution and
event-loop lag over a steady window, and the time to stop all of them.

Each client executes ``print(1+1)`` every ``N / rate`` seconds (``--rate`` executions per second
in total), so that the stand-in and the machine keep up at every N.

Usage: ``python bench/jupyter_scale.py [--counts 100 1000] [--rate 100] [--window 15] [--reps 1]``
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
    generator_core,
    median,
    read_json,
    save,
    spawn,
    stop,
    table,
    target_core,
    temporary_file,
)

GRACE = 5.0
"""stop_grace of the mobu side (the stop-all target is grace + 1 s)."""


def standin() -> tuple[subprocess.Popen[str], str]:
    """Start the kernel stand-in; return it and its URL."""
    process = spawn([PYTHON, str(BENCH / "_kernel_standin.py")], core=target_core(),
                    stdout=subprocess.PIPE)  # fmt: skip
    assert process.stdout is not None
    port = process.stdout.readline().strip()
    if not port:
        stop(process)
        raise RuntimeError("the kernel stand-in did not start")
    return process, f"http://127.0.0.1:{port}/"


def run_side(side: str, url: str, n: int, idle: float, window: float) -> dict[str, Any]:
    """One worker run; returns its figures."""
    with temporary_file(".json") as out:
        argv = [PYTHON, str(BENCH / "_jupyter_scale_worker.py"), "--out", str(out), side, url,
                str(n), str(idle), str(window), str(GRACE)]  # fmt: skip
        process = spawn(argv, core=generator_core(), stderr=subprocess.PIPE)
        try:
            _, stderr = process.communicate(timeout=2400)
        finally:
            stop(process)
        if process.returncode != 0:
            raise RuntimeError(f"{side} N={n} failed ({process.returncode}): {stderr[-3000:]}")
        return dict(read_json(out))


FIELDS = ("cpu_per_execution_ms", "rss_per_client_kb", "lag_p99_ms", "stop_s", "ready_s")


def summarize(runs: list[dict[str, Any]], counts: list[int]) -> list[dict[str, Any]]:
    """Medians per (N, side) and the mobu / floor ratios."""
    rows = []
    for n in counts:
        row: dict[str, Any] = {"n": n}
        for side in ("mobu", "floor"):
            mine = [r for r in runs if r["n"] == n and r["side"] == side]
            row[side] = {f: median([r[f] for r in mine]) for f in FIELDS}
            row[side]["executions"] = sum(r["executions"] for r in mine)
            row[side]["failures"] = sum(r["failures"] for r in mine)
        for field in ("cpu_per_execution_ms", "rss_per_client_kb"):
            floor = row["floor"][field]
            row[f"ratio_{field}"] = row["mobu"][field] / floor if floor else float("nan")
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]], rate: float, window: float) -> str:
    """The results table."""
    out = []
    for row in rows:
        m, f = row["mobu"], row["floor"]
        out.append([
            f"{row['n']:,}",
            f"{m['cpu_per_execution_ms']:.3f} / {f['cpu_per_execution_ms']:.3f}",
            f"**{row['ratio_cpu_per_execution_ms']:.2f}x**",
            f"{m['rss_per_client_kb']:.1f} / {f['rss_per_client_kb']:.1f}",
            f"**{row['ratio_rss_per_client_kb']:.2f}x**",
            f"{m['lag_p99_ms']:.1f} / {f['lag_p99_ms']:.1f}",
            f"{m['stop_s']:.2f} / {f['stop_s']:.2f}",
            f"{m['ready_s']:.1f} / {f['ready_s']:.1f}",
            f"{m['executions']:,} / {f['executions']:,}",
            f"{m['failures']} / {f['failures']}",
        ])  # fmt: skip
    headers = [
        "N", "CPU ms per execution (mobu / floor)", "x floor (≤ 1.2)",
        "RSS KB per client, websocket open (mobu / floor)", "x floor (≤ 1.2)",
        "loop lag p99 ms (< 50)", f"stop all s (≤ grace {GRACE:.0f} + 1)", "all ran once s",
        "executions in window", "failures",
    ]  # fmt: skip
    note = (f"\n\n{rate:.0f} executions per second in total (each client every N / {rate:.0f} s),"
            f" steady window {window:.0f} s; mobu stop_grace {GRACE:.0f} s.")  # fmt: skip
    return table(headers, out) + note


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--window", type=float, default=15.0)
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args()
    runs = []
    process, url = standin()
    try:
        for n in args.counts:
            idle = n / args.rate
            for _ in range(args.reps):
                for side in ("mobu", "floor"):
                    run = {"n": n, "side": side, **run_side(side, url, n, idle, args.window)}
                    runs.append(run)
                    print(f"N={n:5d} {side:5s} cpu/exec {run['cpu_per_execution_ms']:.3f} ms"
                          f" rss/client {run['rss_per_client_kb']:.1f} KB lag p99"
                          f" {run['lag_p99_ms']:.1f} ms stop {run['stop_s']:.2f} s"
                          f" ready {run['ready_s']:.1f} s failures {run['failures']}",
                          flush=True)  # fmt: skip
    finally:
        stop(process)
    rows = summarize(runs, args.counts)
    text = markdown(rows, args.rate, args.window)
    print(text)
    save("jupyter_scale", {"args": vars(args), "runs": runs, "rows": rows, "markdown": text})


if __name__ == "__main__":
    main()

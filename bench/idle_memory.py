"""Memory per idle simulated user: mobu monkeys vs Locust users (issue 8, item 2).

* mobu: a flock of N EmptyLoop or HTTPCheck monkeys (``idle_time`` 1 h) in one process, run by
  the real engine; RSS after ``gc.collect()`` once every monkey finished its first iteration
  (HTTPCheck: one GET, its connection then idles in the flock's shared pool), minus the RSS of the
  same process with a warm-up flock of one. Per monkey = ΔRSS ÷ N. HTTPCheck is read again 17 s
  later, when the pool has closed the idle keep-alive connections (Locust users keep theirs).
* Locust: ``locust --headless -u N -r N`` with ``wait_time = constant(3600)``: one GET, then
  idle. The RSS is read once the target has counted N requests (+3 s); per user =
  (RSS(N) - RSS(1)) ÷ (N - 1), within the same run of this script.

Every generator runs in its own process pinned to one core; the target on the other.
Targets: ≤ 10 KB per idle EmptyLoop monkey, ≤ 15 KB per idle HTTPCheck monkey.

Usage: ``python bench/idle_memory.py [--counts 1000 10000] [--loop auto|asyncio|uvloop]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH,
    VENV_BIN,
    Target,
    fmt,
    generator_core,
    save,
    spawn,
    stop,
    table,
)
from scale import mobu_idle

TARGETS_KB = {"EmptyLoop": 10.0, "HTTPCheck": 15.0, "HTTPCheck-settled": 15.0}
SETTLE = 17.0
"""Seconds after which aiohttp's pool has closed idle keep-alive connections (15 s)."""
LOCUST = {"locust-fast": "fast_idle.py", "locust-http": "http_idle.py"}
NAMES = {
    "EmptyLoop": "mobu EmptyLoop monkey",
    "HTTPCheck": "mobu HTTPCheck monkey (1 GET; its connection idle in the shared pool)",
    "HTTPCheck-settled": (
        "mobu HTTPCheck monkey, 17 s later (pool closed its idle connections;"
        " the freed memory stays in the heap)"
    ),
    "locust-fast": "Locust FastHttpUser (1 GET, then wait 1 h)",
    "locust-http": "Locust HttpUser (1 GET, then wait 1 h)",
}


def locust_rss(config: str, count: int, target: Target) -> float:
    """RSS in bytes of a headless Locust with ``count`` idle users."""
    argv = [
        str(VENV_BIN / "locust"), "-f", str(BENCH / "locustfiles" / LOCUST[config]),
        "--headless", "-u", str(count), "-r", str(count), "-t", "600s",
        "--host", target.url.rstrip("/"), "--loglevel", "ERROR", "--only-summary",
    ]  # fmt: skip
    before = target.served()
    process = spawn(argv, core=generator_core(), stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        if not target.wait_served(before + count, deadline=120):
            raise RuntimeError(f"{config}: not all {count} users made their request")
        time.sleep(3)
        return float(psutil.Process(process.pid).memory_info().rss)
    finally:
        stop(process)


def run(counts: list[int], loop: str) -> dict[str, Any]:
    """Measure every kind of user at every count."""
    rows = []
    with Target() as target:
        for business in ("EmptyLoop", "HTTPCheck"):
            for count in counts:
                settle = SETTLE if business == "HTTPCheck" else 0.0
                result = mobu_idle(
                    business, count, loop=loop, url=target.url, lag_seconds=1, idle_time=3600,
                    settle=settle,
                )  # fmt: skip
                rows.append({
                    "kind": business, "count": count, "loop": result["loop"],
                    "rss_base": result["rss_before"], "rss": result["rss_after"],
                    "per_user": result["bytes_per_monkey"], "failures": result["failures"],
                })  # fmt: skip
                if settle:
                    rows.append({
                        "kind": "HTTPCheck-settled", "count": count, "loop": result["loop"],
                        "rss_base": result["rss_before"], "rss": result["rss_settled"],
                        "per_user": result["bytes_per_monkey_settled"],
                        "failures": result["failures"],
                    })  # fmt: skip
                kb = result["bytes_per_monkey"] / 1024
                print(f"{business} N={count}: {kb:.2f} KB", flush=True)
        for config in LOCUST:
            base = locust_rss(config, 1, target)
            for count in counts:
                rss = locust_rss(config, count, target)
                per_user = (rss - base) / (count - 1)
                rows.append({
                    "kind": config, "count": count, "loop": "gevent", "rss_base": base,
                    "rss": rss, "per_user": per_user, "failures": 0,
                })  # fmt: skip
                print(f"{config} N={count}: {per_user / 1024:.2f} KB", flush=True)
    fast = {r["count"]: r["per_user"] for r in rows if r["kind"] == "locust-fast"}
    out = []
    for row in rows:
        kb = row["per_user"] / 1024
        goal = TARGETS_KB.get(row["kind"])
        verdict = "n/a" if goal is None else ("yes" if kb <= goal else "**no**")
        out.append([
            NAMES[row["kind"]], fmt(row["count"]), row["loop"],
            f"{row['rss_base'] / 2**20:.1f} → {row['rss'] / 2**20:.1f}", f"**{kb:.2f}**",
            f"{row['per_user'] / fast[row['count']]:.2f}x",
            "n/a" if goal is None else f"≤ {goal:.0f}",
            verdict,
        ])  # fmt: skip
    headers = [
        "idle user", "users", "concurrency", "RSS MB (base → N users)", "KB per user",
        "x FastHttpUser", "target KB", "met",
    ]  # fmt: skip
    text = table(headers, out) + (
        "\n\nk6's published figure for comparison: about 0.8 MB per VU"
        " (grafana/k6-benchmarks v0.42.0)."
    )
    return {"rows": rows, "markdown": text}


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto")
    args = parser.parse_args()
    result = run(args.counts, args.loop)
    print(result["markdown"])
    save("idle_memory", {"args": vars(args), **result})


if __name__ == "__main__":
    main()

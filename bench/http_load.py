"""HTTP load per core of load-generator CPU: mobu HTTPCheck flock vs Locust (issue 8, item 1).

One GET per iteration, no idle, N concurrent users against the loopback target, each generator
in its own process pinned to one core (the target and this driver on the other). Throughput is
what the *target* counted in the steady window; CPU is psutil ``cpu_times`` of the generator
over the same window; req/s per core = throughput ÷ cores used. Runs are interleaved and
repeated; medians are reported, with ratios to Locust FastHttpUser measured in the same run.

Latency: mobu's figures are exact ``perf_counter`` deltas around the request (sub-ms). Locust
rounds to whole ms below 100 ms, so its median/p99 are integers; its mean is a float. Because
every generator is CPU-bound in a closed loop, the user's cycle (N ÷ throughput, Little's law)
is reported next to the mean latency: the difference is the generator's own queueing and
overhead outside the timed request.

Usage: ``python bench/http_load.py [--users 50] [--seconds 10] [--reps 3] [--configs ...]``
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH,
    PYTHON,
    VENV_BIN,
    Target,
    cpu_seconds,
    fmt,
    generator_core,
    median,
    read_json,
    save,
    spawn,
    stop,
    table,
    temporary_file,
)

CONFIGS = {
    "mobu": "mobu HTTPCheck flock (fast client, shared pool)",
    "mobu-uvloop": "mobu HTTPCheck flock (fast client) + uvloop",
    "mobu-aiohttp": "mobu HTTPCheck flock (client aiohttp, shared session)",
    "mobu-aiohttp-uvloop": "mobu HTTPCheck flock (client aiohttp) + uvloop",
    "aiohttp": "bare aiohttp loop, shared session (no mobu; floor)",
    "aiohttp-uvloop": "bare aiohttp loop + uvloop (no mobu; floor)",
    "loop-fast": "bare loop: mobu fasthttp + uvloop (no mobu engine)",
    "loop-aiohttp": "bare loop: aiohttp ClientSession + uvloop",
    "loop-aiosonic": "bare loop: aiosonic HTTPClient + uvloop",
    "loop-pyreqwest": "bare loop: pyreqwest Client + uvloop",
    "loop-curl-cffi": "bare loop: curl-cffi AsyncSession + uvloop",
    "loop-httpx": "bare loop: httpx AsyncClient + uvloop",
    "locust-fast": "Locust FastHttpUser",
    "locust-http": "Locust HttpUser",
}
WARMUP = 2.0
CONTENDED = 0.85


def _command(config: str, url: str, users: int, seconds: float, out: Path) -> list[str]:
    if config.startswith("mobu"):
        return [PYTHON, str(BENCH / "_mobu_worker.py"), "--out", str(out), "load", url,
                str(users), str(seconds)]  # fmt: skip
    if config.startswith(("aiohttp", "loop-")):
        client = config.removeprefix("loop-") if config.startswith("loop-") else "aiohttp"
        return [PYTHON, str(BENCH / "_client_loop.py"), "--out", str(out), "--client", client,
                url, str(users), str(seconds)]  # fmt: skip
    locustfile = "fast_load.py" if config == "locust-fast" else "http_load.py"
    return [
        str(VENV_BIN / "locust"), "-f", str(BENCH / "locustfiles" / locustfile), "--headless",
        "-u", str(users), "-r", str(users), "-t", f"{int(seconds)}s", "--host", url.rstrip("/"),
        "--only-summary", "--csv", str(out.with_suffix("")), "--loglevel", "WARNING",
    ]  # fmt: skip


def _locust_stats(prefix: Path) -> dict[str, Any]:
    path = prefix.with_name(prefix.stem + "_stats.csv")
    try:
        with path.open() as fh:
            rows = [r for r in csv.DictReader(fh) if r["Name"] == "Aggregated"]
    finally:
        for suffix in ("_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv"):
            prefix.with_name(prefix.stem + suffix).unlink(missing_ok=True)
    row = rows[0]
    return {
        "checks": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rate": float(row["Requests/s"]),
        "p50_ms": float(row["Median Response Time"]),
        "p99_ms": float(row["99%"]),
        "mean_ms": float(row["Average Response Time"]),
    }


def run_one(config: str, target: Target, users: int, window: float) -> dict[str, Any]:
    """One headless run of one generator; returns its figures."""
    seconds = window + WARMUP + 6
    env = {
        "MOBU_BENCH_UVLOOP": "1"
        if config.endswith("-uvloop") or config.startswith("loop-")
        else "0",
        "MOBU_BENCH_HTTP_CLIENT": "aiohttp" if config.startswith("mobu-aiohttp") else "fast",
    }
    with temporary_file(".json") as out:
        process = spawn(
            _command(config, target.url, users, seconds, out),
            core=generator_core(),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            generator = psutil.Process(process.pid)
            start = target.served()
            if not target.wait_served(start + 200, deadline=30):
                raise RuntimeError(f"{config} sent no traffic")
            time.sleep(WARMUP)
            served0, cpu0, tcpu0, t0 = (
                target.served(), cpu_seconds(generator), cpu_seconds(target.psutil),
                time.monotonic(),
            )  # fmt: skip
            time.sleep(window)
            served1, cpu1, tcpu1, t1 = (
                target.served(), cpu_seconds(generator), cpu_seconds(target.psutil),
                time.monotonic(),
            )  # fmt: skip
            rss = generator.memory_info().rss / 1_048_576
            valid = process.poll() is None
            _, stderr = process.communicate(timeout=seconds + 60)
        finally:
            stop(process)
        if process.returncode != 0:
            raise RuntimeError(f"{config} failed ({process.returncode}): {stderr[-2000:]}")
        tool = _locust_stats(out) if config.startswith("locust") else read_json(out)
    elapsed = t1 - t0
    rate = (served1 - served0) / elapsed
    cores_used = (cpu1 - cpu0) / elapsed
    cycle_ms = users / rate * 1000 if rate else float("nan")
    return {
        "config": config,
        "valid": valid,
        "rate": rate,
        "cpu": cores_used,
        "per_core": rate / cores_used if cores_used else float("nan"),
        "target_cpu": (tcpu1 - tcpu0) / elapsed,
        "rss_mb": rss,
        "cycle_ms": cycle_ms,
        "tool": tool,
    }


def summarize(runs: list[dict[str, Any]], configs: list[str], users: int) -> dict[str, Any]:
    """Medians per configuration and ratios to Locust FastHttpUser."""
    rows = {}
    # A run whose generator got less than 85 % of its core shared it with other work on this
    # machine, which lowers CPU efficiency too. Use only uncontended runs when every
    # configuration has at least one, else every run (so that all rows are alike).
    filtered = all(any(r["cpu"] >= CONTENDED for r in runs if r["config"] == c) for c in configs)
    for config in configs:
        every = [r for r in runs if r["config"] == config]
        mine = [r for r in every if r["cpu"] >= CONTENDED] if filtered else every
        rows[config] = {
            "runs": f"{len(mine)}/{len(every)}",
            "per_core": median([r["per_core"] for r in mine]),
            "per_core_all": [round(r["per_core"]) for r in mine],
            "rate": median([r["rate"] for r in mine]),
            "cpu": median([r["cpu"] for r in mine]),
            "target_cpu": median([r["target_cpu"] for r in mine]),
            "p50_ms": median([r["tool"]["p50_ms"] for r in mine]),
            "p99_ms": median([r["tool"]["p99_ms"] for r in mine]),
            "mean_ms": median([r["tool"]["mean_ms"] for r in mine]),
            "cycle_ms": median([r["cycle_ms"] for r in mine]),
            "failures": sum(r["tool"]["failures"] for r in mine),
            "rss_mb": median([r["rss_mb"] for r in mine]),
        }
    base = rows.get("locust-fast", {}).get("per_core")
    floor = rows.get("loop-fast", {}).get("per_core")
    for row in rows.values():
        row["ratio_fast"] = row["per_core"] / base if base else float("nan")
        row["ratio_fasthttp"] = row["per_core"] / floor if floor else float("nan")
    return {"users": users, "rows": rows, "decision": decision(rows)}


DECISION_RATIO = 0.85
"""A kept library replaces mobu's fasthttp when it reaches this share of its req/s per core."""


def decision(rows: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Issue 17's rule: the best library loop against the fasthttp loop, same run."""
    if "loop-fast" not in rows:
        return None
    libraries = {c: r["ratio_fasthttp"] for c, r in rows.items() if c.startswith("loop-")}
    libraries.pop("loop-fast")
    if not libraries:
        return None
    best = max(libraries, key=lambda c: libraries[c])
    return {
        "best": best,
        "ratio": libraries[best],
        "replace": libraries[best] >= DECISION_RATIO,
        "ratios": libraries,
    }


def markdown(summary: dict[str, Any], window: float) -> str:
    """The results table."""
    out = []
    for config, row in summary["rows"].items():
        integer_ms = config.startswith("locust")
        ratio = "n/a" if row["ratio_fast"] != row["ratio_fast"] else f"**{row['ratio_fast']:.2f}x**"
        digits = 0 if integer_ms else 2
        floor = row["ratio_fasthttp"]
        out.append([
            CONFIGS[config], fmt(row["per_core"]), ratio,
            "n/a" if floor != floor else f"{floor:.2f}x",
            " / ".join(fmt(v) for v in row["per_core_all"]), fmt(row["rate"]),
            f"{row['cpu'] * 100:.0f} %",
            f"{fmt(row['p50_ms'], digits)} / {fmt(row['p99_ms'], digits)}",
            f"{row['mean_ms']:.2f} / {row['cycle_ms']:.2f}", row["failures"],
            f"{row['target_cpu'] * 100:.0f} %", fmt(row["rss_mb"]), row["runs"],
        ])  # fmt: skip
    headers = [
        f"generator (N={summary['users']}, 1 process, 1 core)", "req/s per core (median)",
        "x FastHttpUser", "x fasthttp loop", "per-run req/s per core", "req/s (target)",
        "generator CPU",
        "p50 / p99 ms (tool)", "mean ms (tool) / cycle ms (N ÷ req/s)", "failures",
        "target CPU", "generator RSS MB", "runs used",
    ]  # fmt: skip
    note = (
        f"\n\nSteady window {window:.0f} s per run after {WARMUP:.0f} s warm-up. Medians over the"
        f' runs whose generator had at least {CONTENDED:.0%} of its core ("runs used") when every'
        " generator had such runs, else over all runs: other work on the machine lowers CPU"
        " efficiency."
    )
    verdict = summary.get("decision")
    if verdict:
        keep = "replace fasthttp with it" if verdict["replace"] else "keep fasthttp"
        note += (
            f"\n\nClient decision (issue 17): the best library loop, {CONFIGS[verdict['best']]},"
            f" reached **{verdict['ratio']:.2f}x** the fasthttp loop's req/s per core (rule:"
            f" ≥ {DECISION_RATIO:.2f}x replaces fasthttp): **{keep}**."
        )
    return table(headers, out) + note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0, help="steady window per run")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--configs", nargs="+", default=["mobu", "locust-fast", "locust-http"],
                        choices=sorted(CONFIGS))  # fmt: skip
    args = parser.parse_args()
    runs = []
    with Target() as target:
        for rep in range(args.reps):
            for config in args.configs:
                run = run_one(config, target, args.users, args.seconds)
                runs.append(run)
                print(
                    f"rep {rep + 1} {config:12s} {run['per_core']:9.0f} req/s/core"
                    f" ({run['rate']:.0f} req/s at {run['cpu'] * 100:.0f} % CPU;"
                    f" target {run['target_cpu'] * 100:.0f} %)",
                    flush=True,
                )
    summary = summarize(runs, args.configs, args.users)
    text = markdown(summary, args.seconds)
    print(text)
    save("http_load", {"args": vars(args), "runs": runs, "summary": summary, "markdown": text})


if __name__ == "__main__":
    main()

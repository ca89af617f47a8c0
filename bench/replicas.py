"""HTTPCheck throughput of a replica group, and the cost of its shared state (issue 15).

For 1, 2 and 4 ``mobu serve`` replica processes (``replica_count`` N, indices 0..N-1) on this
machine's cores, all against one loopback target (``bench/target.py``), one HTTPCheck flock of
``--users`` monkeys with ``idle_time`` 0 split across the replicas. Each replica count runs twice,
interleaved in the same run: with the shared store (``replicas.shared``: the flock PUT once to
replica 0, desired state, LISTEN/NOTIFY, heartbeats every ``--heartbeat`` seconds) and without
(``replicas.shared: false``: the flock PUT to every replica, each running its share as before).
Both write their history to the same local PostgreSQL, so only the group's coordination differs.

Throughput is what the target counted over the window; CPU is the user + system time of every
replica process over the same window; req/s per core = throughput ÷ cores used. The shared/alone
ratio of req/s per core is the overhead figure (target ≥ 0.95). One replica is never a group
(``replica_count`` 1), so it runs alone only.

Usage: ``python bench/replicas.py [--users 40] [--seconds 8] [--replicas 1,2,4] [--reps 1]``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import VENV_BIN, Target, cpu_seconds, fmt, machine, median, save, table

from mobu.platform.postgres import run_postgres

WARMUP = 2.0
"""Seconds of traffic before the window opens."""


async def _serve(
    config: Path, started: list[asyncio.subprocess.Process], drains: list[asyncio.Task[None]]
) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        str(VENV_BIN / "mobu"), "serve", "--config", str(config), "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    started.append(process)
    assert process.stdout is not None
    output: list[str] = []
    async with asyncio.timeout(120):
        while True:
            line = (await process.stdout.readline()).decode()
            if not line:
                raise RuntimeError("mobu serve exited before listening: " + "".join(output)[-2000:])
            output.append(line)
            if "listening on" in line:
                drains.append(asyncio.create_task(_drain(process)))
                return process, line.split("listening on", 1)[1].strip()


async def _drain(process: asyncio.subprocess.Process) -> None:
    """Read the server's output until it exits (a full pipe would block its logging)."""
    assert process.stdout is not None
    while await process.stdout.read(65536):
        pass


def _config(root: Path, index: int, count: int, store: str, shared: bool, beat: float) -> Path:
    data = root / f"r{index}"
    data.mkdir(parents=True, exist_ok=True)
    config = {
        "replica_count": count,
        "replica_index": index,
        "data_dir": str(data),
        "stop_grace": 2,
        "log_monkeys_to_file": False,
        "history": {"url": store},
        "replicas": {"shared": shared, "heartbeat_interval": beat, "stale_after": 10 * beat},
    }
    path = data / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _flock(url: str, users: int) -> dict[str, Any]:
    return {
        "name": "load",
        "count": users,
        "user_spec": {"username_prefix": "bot-mobu-load"},
        "business": {"type": "HTTPCheck", "options": {"url": url, "idle_time": 0}},
    }


async def _wait_served(target: Target, at_least: int) -> None:
    async with asyncio.timeout(60):
        while target.served() < at_least:
            await asyncio.sleep(0.1)


async def run_one(
    target: Target, store: str, count: int, *, shared: bool, users: int, window: float, beat: float
) -> dict[str, Any]:
    """One group of ``count`` replicas, measured over ``window`` seconds."""
    with tempfile.TemporaryDirectory(prefix="mobu-bench-replicas-") as tmp:
        root = Path(tmp)
        configs = [_config(root, i, count, store, shared, beat) for i in range(count)]
        started: list[asyncio.subprocess.Process] = []
        drains: list[asyncio.Task[None]] = []
        try:
            servers = await asyncio.gather(*(_serve(c, started, drains) for c in configs))
            async with httpx.AsyncClient(timeout=120) as client:
                targets = [servers[0][1]] if shared else [url for _, url in servers]
                for url in targets:
                    response = await client.put(f"{url}/flocks", json=_flock(target.url, users))
                    response.raise_for_status()
                await _wait_served(target, target.served() + 200)
                await asyncio.sleep(WARMUP)
                procs = [psutil.Process(p.pid) for p, _ in servers]
                served0, t0 = target.served(), time.monotonic()
                cpu0 = sum(cpu_seconds(p) for p in procs)
                await asyncio.sleep(window)
                served1, t1 = target.served(), time.monotonic()
                cpu1 = sum(cpu_seconds(p) for p in procs)
                if shared:
                    await client.delete(f"{servers[0][1]}/flocks/load")
        finally:
            for process in started:
                if process.returncode is None:
                    process.terminate()
            for process in started:
                await process.wait()
            await asyncio.gather(*drains)
    elapsed = t1 - t0
    rate = (served1 - served0) / elapsed
    cores = (cpu1 - cpu0) / elapsed
    return {
        "replicas": count,
        "shared": shared,
        "rate": rate,
        "cpu": cores,
        "per_core": rate / cores if cores else float("nan"),
    }


def summarize(runs: list[dict[str, Any]], counts: list[int]) -> list[dict[str, Any]]:
    """Medians per replica count and mode, with the shared/alone ratio of req/s per core."""
    rows = []
    for count in counts:
        row: dict[str, Any] = {"replicas": count}
        for shared in (True, False):
            mine = [r for r in runs if r["replicas"] == count and r["shared"] is shared]
            key = "shared" if shared else "alone"  # one replica: no group, "shared" is n/a
            row[f"{key}_rate"] = median([r["rate"] for r in mine])
            row[f"{key}_cpu"] = median([r["cpu"] for r in mine])
            row[f"{key}_per_core"] = median([r["per_core"] for r in mine])
        row["ratio"] = row["shared_per_core"] / row["alone_per_core"]
        rows.append(row)
    return rows


async def main_async(args: argparse.Namespace) -> None:
    """Run every configuration (interleaved) and print the table."""
    counts = [int(c) for c in args.replicas.split(",")]
    runs: list[dict[str, Any]] = []
    async with run_postgres() as postgres:
        store = postgres.url.replace("+asyncpg", "")
        with Target() as target:
            for _ in range(args.reps):
                for count in counts:
                    for shared in (True, False) if count > 1 else (False,):
                        run = await run_one(
                            target, store, count, shared=shared, users=args.users,
                            window=args.seconds, beat=args.heartbeat,
                        )  # fmt: skip
                        print(
                            f"{count} replicas shared={shared}: {fmt(run['rate'])} req/s",
                            flush=True,
                        )
                        runs.append(run)
    rows = summarize(runs, counts)
    print(
        table(
            [
                "replicas",
                "req/s shared",
                "req/s alone",
                "cores shared",
                "cores alone",
                "req/s/core shared",
                "req/s/core alone",
                "ratio",
            ],
            [
                [
                    r["replicas"],
                    fmt(r["shared_rate"]),
                    fmt(r["alone_rate"]),
                    fmt(r["shared_cpu"], 2),
                    fmt(r["alone_cpu"], 2),
                    fmt(r["shared_per_core"]),
                    fmt(r["alone_per_core"]),
                    fmt(r["ratio"], 3),
                ]
                for r in rows
            ],
        )
    )
    path = save("replicas", {"machine": machine(), "args": vars(args), "runs": runs, "rows": rows})
    print(f"saved {path}")


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=40, help="monkeys of the flock (all replicas)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured window per run")
    parser.add_argument("--replicas", default="1,2,4", help="replica counts, comma separated")
    parser.add_argument("--reps", type=int, default=1, help="repetitions")
    parser.add_argument("--heartbeat", type=float, default=1.0, help="heartbeat interval (s)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

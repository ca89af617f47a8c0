"""One side of ``bench/jupyter_scale.py``, run in its own pinned process.

``mobu URL N IDLE WINDOW GRACE``: one mobu process (the real engine, per-monkey log files)
holds N NubladoPythonLoop monkeys against the kernel stand-in, each with an open kernel
websocket executing ``print(1+1)`` every IDLE seconds. ``floor URL N IDLE WINDOW``: N minimal
clients in one process (a session, a websocket, a loop of execute + sleep, the first execution
at a random point of the first period, as the monkeys' own start spreads theirs). Both first run
a warm-up of WARM clients (started, executed once, stopped), so that one-off costs (modules,
validators, pools) are not counted per client. Both write one JSON object: seconds until all N
executed once, RSS per client (after ``gc.collect``, minus the process after the warm-up), CPU
per execution and event-loop lag in a steady WINDOW, and the time to stop all of them (mobu:
``stop_flock``, its grace GRACE; floor: signal, close, delete).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import structlog
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from _kernel_standin import V1, pack, unpack

from mobu.config import Config
from mobu.events import EventBase, Events
from mobu.factory import ProcessContext
from mobu.models.flock import FlockConfig

_ME = psutil.Process()
WARM = 10
"""Clients of the warm-up that runs before the base RSS is taken, on both sides."""


def _rss() -> float:
    gc.collect()
    return float(_ME.memory_info().rss)


def _cpu() -> float:
    times = _ME.cpu_times()
    return float(times.user + times.system)


class Counter:
    """Counts executions and the distinct clients that executed at least once."""

    def __init__(self, goal: int) -> None:
        self.count = 0
        self.failures = 0
        self.users: set[str] = set()
        self.goal = goal
        self.all_ran = asyncio.Event()

    def reset(self, goal: int) -> None:
        """Start counting afresh (after the warm-up)."""
        self.count = self.failures = 0
        self.users = set()
        self.goal = goal
        self.all_ran = asyncio.Event()

    def executed(self, user: str, *, success: bool = True) -> None:
        self.count += 1
        if not success:
            self.failures += 1
        self.users.add(user)
        if len(self.users) >= self.goal:
            self.all_ran.set()

    def publish(self, name: str, payload: EventBase) -> None:
        """Event sink of the mobu side."""
        if name == "nublado_python_execution":
            self.executed(payload.username, success=bool(getattr(payload, "success", True)))
        elif not getattr(payload, "success", True):
            self.failures += 1


async def _steady(counter: Counter, window: float) -> dict[str, float]:
    """CPU per execution and event-loop lag over ``window`` seconds."""
    lags: list[float] = []
    end = time.perf_counter() + window
    count0, cpu0 = counter.count, _cpu()
    while (start := time.perf_counter()) < end:
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - start - 0.01)
    executions = counter.count - count0
    cpu = _cpu() - cpu0
    lags.sort()
    return {
        "executions": executions,
        "cpu_s": cpu,
        "cpu_per_execution_ms": cpu / executions * 1000 if executions else float("nan"),
        "lag_p50_ms": lags[len(lags) // 2] * 1000,
        "lag_p99_ms": lags[min(len(lags) - 1, int(len(lags) * 0.99))] * 1000,
        "lag_max_ms": lags[-1] * 1000,
    }


def _flock(name: str, n: int, idle: float) -> FlockConfig:
    return FlockConfig.model_validate({
        "name": name, "count": n,
        "user_spec": {"username_prefix": f"bot-mobu-{name[0]}{uuid.uuid4().hex[:6]}"},
        "business": {"type": "NubladoPythonLoop", "options": {
            "code": "print(1+1)", "max_executions": 100_000,
            "execution_idle_time": idle, "spawn_settle_time": 0, "delete_lab": False,
            "idle_time": 3600, "get_node": False}}})  # fmt: skip


async def mobu_side(url: str, n: int, idle: float, window: float, grace: float) -> dict[str, Any]:
    """N NubladoPythonLoop monkeys in the real engine."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    counter = Counter(WARM)
    config = Config(
        discovery={"services": {"hub": url}},
        identity={"provider": "jupyterhub", "admin_token": "standin-admin"},
        stop_grace=timedelta(seconds=grace),
    )
    context = ProcessContext(config, logger=structlog.get_logger("bench"), events=Events([counter]))
    async with context:
        # Warm-up: a few monkeys load what is loaded once (modules, validators, pools, metric
        # series), so that the RSS per monkey below is the cost of one more monkey.
        await context.manager.start_flock(_flock("warm", WARM, idle))
        await asyncio.wait_for(counter.all_ran.wait(), 1500)
        await context.manager.stop_flock("warm")
        counter.reset(n)
        base = _rss()
        start = time.perf_counter()
        await context.manager.start_flock(_flock("scale", n, idle))
        await asyncio.wait_for(counter.all_ran.wait(), 1500)
        ready = time.perf_counter() - start
        per_client = (_rss() - base) / n
        print("steady window starts", file=sys.stderr, flush=True)  # for a profiler to attach
        steady = await _steady(counter, window)
        start = time.perf_counter()
        await context.manager.stop_flock("scale")
        stop = time.perf_counter() - start
    return {"ready_s": ready, "rss_per_client_kb": per_client / 1024, **steady, "stop_s": stop,
            "failures": counter.failures}  # fmt: skip


async def _execute(ws: ClientConnection, user: str) -> None:
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "session": "f",
              "username": user, "version": "5.4", "date": ""}  # fmt: skip
    content = {"code": "print(1+1)", "silent": False, "store_history": False,
               "user_expressions": {}, "allow_stdin": False, "stop_on_error": False}  # fmt: skip
    await ws.send(pack("shell", {"header": header, "parent_header": {}, "metadata": {},
                                 "content": content}))  # fmt: skip
    reply = idle = False
    while not (reply and idle):
        _, head, body = unpack(await ws.recv())  # type: ignore[arg-type]
        kind = head["msg_type"]
        reply = reply or kind == "execute_reply"
        idle = idle or (kind == "status" and body["execution_state"] == "idle")


async def _floor_client(
    http: httpx.AsyncClient, url: str, user: str, idle: float, counter: Counter,
    stopping: asyncio.Event, opened: list[int],
) -> None:  # fmt: skip
    base = f"{url}user/{user}/"
    await http.post(f"{url}hub/api/users/{user}/server", json={})
    session = (
        await http.post(
            f"{base}api/sessions",
            json={
                "path": "x.ipynb",
                "type": "notebook",
                "name": "x",
                "kernel": {"name": "python3"},
            },
        )
    ).json()
    ws_url = base.replace("http", "ws", 1) + f"api/kernels/{session['kernel']['id']}/channels"
    async with connect(
        ws_url, subprotocols=[V1], proxy=None, max_size=None, compression=None
    ) as ws:  # type: ignore[list-item]
        opened[0] += 1
        # Spread the first execution over one period, as the monkeys' own start spreads theirs:
        # N clients executing in lockstep batch their I/O and understate the floor's cost.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), random.uniform(0, idle))
        while not stopping.is_set():
            await _execute(ws, user)
            counter.executed(user)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), idle)
    await http.delete(f"{base}api/sessions/{session['id']}")
    await http.delete(f"{url}hub/api/users/{user}/server")


async def floor_side(url: str, n: int, idle: float, window: float) -> dict[str, Any]:
    """N minimal clients in one process: the floor."""
    counter = Counter(n)
    stopping = asyncio.Event()
    opened = [0]
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(trust_env=False, timeout=120, limits=limits) as http:
        warm, warm_stop = Counter(WARM), asyncio.Event()  # the same warm-up as the mobu side
        clients = [_floor_client(http, url, f"floorwarm{uuid.uuid4().hex[:6]}-{i}", idle, warm,
                                 warm_stop, [0]) for i in range(WARM)]  # fmt: skip
        warming = asyncio.gather(*clients)
        await asyncio.wait_for(warm.all_ran.wait(), 600)
        warm_stop.set()
        await warming
        base = _rss()
        prefix = f"floor{uuid.uuid4().hex[:6]}"
        start = time.perf_counter()
        tasks = [
            asyncio.create_task(
                _floor_client(http, url, f"{prefix}-{i}", idle, counter, stopping, opened)
            )
            for i in range(n)
        ]
        await asyncio.wait_for(counter.all_ran.wait(), 1500)
        ready = time.perf_counter() - start
        per_client = (_rss() - base) / n
        steady = await _steady(counter, window)
        start = time.perf_counter()
        stopping.set()
        await asyncio.gather(*tasks)
        stop = time.perf_counter() - start
    return {"ready_s": ready, "rss_per_client_kb": per_client / 1024, **steady, "stop_s": stop,
            "failures": counter.failures, "websockets": opened[0]}  # fmt: skip


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("side", choices=["mobu", "floor"])
    parser.add_argument("url")
    parser.add_argument("n", type=int)
    parser.add_argument("idle", type=float)
    parser.add_argument("window", type=float)
    parser.add_argument("grace", type=float, nargs="?", default=5.0)
    args = parser.parse_args()
    import uvloop

    if args.side == "mobu":
        result = uvloop.run(mobu_side(args.url, args.n, args.idle, args.window, args.grace))
    else:
        result = uvloop.run(floor_side(args.url, args.n, args.idle, args.window))
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()

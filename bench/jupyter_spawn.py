"""Spawn throughput: labs spawned per minute with 1 and 5 concurrent monkeys, with phases.

Each monkey runs NubladoPythonLoop with one execution per lab and ``delete_lab`` on, so every
iteration is a full cycle: spawn request, progress to ready, first lab response, session,
websocket, one execution, session delete, lab delete. The phase breakdown is the mean over all
monkeys of the durations the business records.

Usage: ``python bench/jupyter_spawn.py [--seconds 90] [--monkeys 1 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jupyter_common import mobu_context, save

from mobu.models.flock import FlockConfig
from mobu.platform.hub import LocalHub

PHASES = [
    "spawn_request",
    "spawn_progress",
    "spawn",
    "lab_first_response",
    "session_create",
    "websocket_open",
    "execute",
    "session_delete",
    "lab_delete",
]


async def measure(hub: LocalHub, monkeys: int, seconds: float) -> dict[str, Any]:
    """Run a flock of ``monkeys`` for ``seconds`` and count completed spawns."""
    async with mobu_context(hub) as (context, sink):
        flock = await context.manager.start_flock(
            FlockConfig.model_validate(
                {
                    "name": f"spawn{monkeys}",
                    "count": monkeys,
                    "user_spec": {"username_prefix": f"bot-mobu-sp{monkeys}-"},
                    "business": {
                        "type": "NubladoPythonLoop",
                        "restart": True,
                        "options": {
                            "code": "print(1)",
                            "max_executions": 1,
                            "spawn_settle_time": 0,
                            "execution_idle_time": 0,
                            "idle_time": 0,
                            "error_idle_time": 5,
                            "spawn_timeout": 300,
                            "get_node": False,
                        },
                    },
                }
            )
        )
        start = time.perf_counter()
        await asyncio.sleep(seconds)  # benchmark script: a fixed measuring window
        elapsed = time.perf_counter() - start
        spawns = [p for p in sink.payloads("nublado_spawn_lab") if p.success]  # type: ignore[attr-defined]
        phases: dict[str, float] = {}
        for phase in PHASES:
            total = sum(m.business.timings.total.get(phase, 0.0) for m in flock.monkeys)  # type: ignore[attr-defined]
            count = sum(m.business.timings.count.get(phase, 0) for m in flock.monkeys)  # type: ignore[attr-defined]
            if count:
                phases[phase] = round(total / count, 3)
        failures = sum(m.business.failure_count for m in flock.monkeys)
        await context.manager.stop_flock(flock.name)
    return {
        "monkeys": monkeys,
        "seconds": round(elapsed, 1),
        "spawns": len(spawns),
        "spawns_per_minute": round(len(spawns) * 60 / elapsed, 2),
        "failures": failures,
        "mean_phase_seconds": phases,
    }


async def main(seconds: float, sizes: list[int]) -> None:
    hub = LocalHub()
    await asyncio.to_thread(hub.start)
    try:
        results = [await measure(hub, n, seconds) for n in sizes]
    finally:
        await asyncio.to_thread(hub.stop)
        hub.cleanup()
    save("jupyter_spawn", {"benchmark": "jupyter_spawn", "results": results})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--monkeys", type=int, nargs="+", default=[1, 5])
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.monkeys))

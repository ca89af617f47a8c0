"""Against the real local JupyterHub: the capacity search finds its server limit; ramping down
stops exactly the removed monkeys and deletes their labs."""

from __future__ import annotations

import asyncio

import httpx
import psutil
import pytest

from mobu.events import EventBase, Events
from mobu.loadtest import LoadTestPlan, run_on
from mobu.loadtest.target import EmbeddedTarget
from mobu.models.monkey import MonkeyState
from mobu.platform.hub import LocalHub
from tests.jupyter.support import FAST, FailureCollector, running, start
from tests.loadtest.support import QUIET

SPAWN_WAIT = 900.0
"""Generous bound for 20 labs to spawn and run code on a shared 2-core machine."""

pytestmark = pytest.mark.timeout(SPAWN_WAIT + 300)
"""The conditions' own bound (above) is what a hang reaches first, not pytest's default."""

LOOP = {**FAST, "code": "print(1+1)", "max_executions": 100_000, "error_idle_time": 1}
PATIENT = {
    **FAST,
    "code": "print(1+1)",
    "max_executions": 1,
    "delete_lab": False,
    "idle_time": "1h",
    "spawn_timeout": 600,
    "jupyter_timeout": 300,
}
"""20 labs at once on a loaded machine: each runs its code once and then idles with its lab up
(20 kernels running code back to back would starve the labs still spawning, and the event
list the test waits on would grow without end); no spawn or hub call may time out."""


async def _running_servers(hub: LocalHub, prefix: str) -> list[str]:
    async with httpx.AsyncClient(trust_env=False, timeout=60) as http:
        response = await http.get(
            f"{hub.url}hub/api/users", headers={"Authorization": f"token {hub.admin_token}"}
        )
        response.raise_for_status()
        return [
            user["name"]
            for user in response.json()
            if user["name"].startswith(prefix) and (user.get("servers") or user.get("server"))
        ]


def _executed(published: list[EventBase]) -> set[str]:
    """Users whose code ran successfully at least once."""
    return {str(e.__dict__.get("username")) for e in published if e.__dict__.get("success")}


async def _until_all_executed(events: Events, failures: FailureCollector, count: int) -> None:
    """Wait (bounded) until ``count`` users ran code; a failure report ends the wait at once."""
    recorder = events.recorder
    assert recorder is not None
    name = "nublado_python_execution"
    async with asyncio.timeout(SPAWN_WAIT):
        while len(_executed(recorder.published(name))) < count:
            assert failures.reports == [], [str(r.error) for r in failures.reports]
            event = asyncio.ensure_future(recorder.wait_for(name, recorder.count(name) + 1))
            failure = asyncio.ensure_future(failures.wait_for(len(failures.reports) + 1))
            done, pending = await asyncio.wait({event, failure}, return_when="FIRST_COMPLETED")
            for task in pending:
                task.cancel()
            if failure in done and isinstance(failure.exception(), TimeoutError):
                continue  # the collector's own bound on one wait: look again
    assert failures.reports == [], [str(r.error) for r in failures.reports]


async def _until_processes_exit(hub: LocalHub) -> None:
    """Wait (bounded) until every lab and kernel process exits.

    The hub reports a server gone once its lab process ended; the lab's kernels may still be
    shutting down then, so their exits are waited for, not assumed.
    """
    _gone, alive = await asyncio.to_thread(psutil.wait_procs, hub.user_processes(), SPAWN_WAIT)
    assert alive == []
    left = [(p.pid, _cmdline(p)) for p in hub.user_processes()]
    assert left == []


def _cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return "(exited)"


def _cwd(process: psutil.Process) -> str:
    """The process's working directory ("" once it has exited: it may, between two looks)."""
    try:
        return process.cwd()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return ""


async def _until_stopped(hub: LocalHub, prefix: str, expected: set[str]) -> None:
    """Poll the hub (bounded) until exactly ``expected`` of the users still have a server.

    The hub has no event to wait on: a removed monkey asks for its lab's deletion as it stops,
    and the hub takes a moment to report the server gone.
    """
    async with asyncio.timeout(SPAWN_WAIT):
        while set(await _running_servers(hub, prefix)) != expected:
            await asyncio.sleep(0.5)  # the next poll of the hub's API, not a guess at a duration


async def test_capacity_search_finds_the_hub_limit(limited_hub: LocalHub) -> None:
    """active_server_limit = 4: capacity 4, the hub broke first, no lab left running."""
    plan = LoadTestPlan.model_validate(
        {
            "name": "hub-knee",
            "flocks": [
                {
                    "name": "lab",
                    "count": 1,
                    "user_spec": {"username_prefix": "bot-mobu-knee"},
                    "business": {"type": "NubladoPythonLoop", "restart": True, "options": LOOP},
                }
            ],
            "search": {"start": 1, "factor": 2, "max": 8, "hold": "20s", "refine": True},
            "thresholds": [{"stat": "failure_rate", "max": "0%"}],
            "grace": 0,
            "window": "20s",
            "interval": "500ms",
        }
    )
    async with running(limited_hub, **QUIET) as (context, _, _failures):
        target = EmbeddedTarget(context, {"lab"}, plan.window, plan.interval)
        try:
            result = await run_on(plan, target, mode="capacity")
        finally:
            target.close()
    capacity = result.capacity
    assert capacity is not None
    assert capacity.capacity == 4, capacity
    assert capacity.layer == "hub"
    assert [s.count for s in capacity.steps][:4] == [1, 2, 4, 8]
    assert any("429" in error for error in result.errors), result.errors
    await _until_stopped(limited_hub, "bot-mobu-knee", set())
    await _until_processes_exit(limited_hub)


async def test_ramping_20_to_5_stops_exactly_15(open_hub: LocalHub) -> None:
    """Shrinking a running flock stops exactly the removed monkeys and deletes their labs."""
    async with running(open_hub, stop_grace=120, **QUIET) as (context, events, failures):
        flock = await start(
            context,
            name="ramp",
            count=20,
            user_spec={"username_prefix": "bot-mobu-ramp"},
            business={"type": "NubladoPythonLoop", "options": PATIENT},
        )
        await _until_all_executed(events, failures, 20)
        monkeys = flock.monkeys
        servers = await _running_servers(open_hub, "bot-mobu-ramp")
        assert len(servers) == 20, servers
        await context.manager.resize_flock("ramp", 5)
        removed, kept = monkeys[5:], monkeys[:5]
        assert len(removed) == 15
        assert flock.monkeys == kept
        assert all(m.state == MonkeyState.FINISHED for m in removed), [m.state for m in removed]
        assert all(m.state == MonkeyState.RUNNING for m in kept), [m.state for m in kept]
        removed_names = {m.name for m in removed}
        await _until_stopped(open_hub, "bot-mobu-ramp", {m.name for m in kept})
        removed_labs = [  # the removed labs' kernels may still be exiting: waited for
            p
            for p in open_hub.user_processes()
            if any(f"/homes/{name}/" in _cwd(p) + "/" for name in removed_names)
        ]
        _gone, alive = await asyncio.to_thread(psutil.wait_procs, removed_labs, SPAWN_WAIT)
        assert alive == []
        assert failures.reports == [], [str(r.error) for r in failures.reports]
        await context.manager.stop_flock("ramp")
    await _until_stopped(open_hub, "bot-mobu-ramp", set())
    await _until_processes_exit(open_hub)

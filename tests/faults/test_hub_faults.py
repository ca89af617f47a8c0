"""Faults of JupyterHub and of a lab's kernel, killed mid-run under a running NubladoPythonLoop.

Every test runs its own hub, a mobu process context with Slack alerts to a local receiver and
one monkey that blocks once inside its kernel (:class:`KernelGate`), so the fault always hits
at the same point of the lab cycle.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import psutil
import pytest

from mobu.events import Events
from mobu.platform.hub import LocalHub
from tests.faults.conftest import (
    WAIT,
    KernelGate,
    Resources,
    assert_hub_clean,
    assert_no_leaks,
    needs_hub,
)
from tests.jupyter.support import FAST, running, start, wait_until
from tests.observability.receivers import Receiver
from tests.support.hubs import left_running

pytestmark = [pytest.mark.jupyter, needs_hub]

USER = "bot-mobu-fault1"
EXECUTION = "nublado_python_execution"


def _successes(events: Events) -> int:
    assert events.recorder is not None
    return sum(1 for e in events.recorder.published(EXECUTION) if getattr(e, "success", False))


def _alerts(receiver: Receiver) -> dict[str, Any]:
    return {"slack": {"webhook": receiver.webhook, "status_interval": None, "dedup_window": "1h"}}


def _flock(gate: KernelGate) -> dict[str, Any]:
    options = {**FAST, "code": gate.code, "max_executions": 2, "delete_lab": False}
    return {
        "name": "fault",
        "count": 1,
        "user_spec": {"username_prefix": "bot-mobu-fault"},
        "business": {"type": "NubladoPythonLoop", "options": options, "restart": True},
    }


def _kernels(hub: LocalHub) -> list[psutil.Process]:
    out = []
    for proc in hub.user_processes():
        try:
            if any("ipykernel" in part for part in proc.cmdline()):
                out.append(proc)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return out


async def _wait_exit(proc: psutil.Process) -> None:
    """Wait (bounded) for a killed process to be gone."""
    await asyncio.wait_for(asyncio.to_thread(proc.wait, WAIT), WAIT + 5)


async def test_hub_killed_mid_run_alerts_once_and_recovers(
    private_hub: LocalHub, receiver: Receiver, mobu_tmp: Path, tmp_path: Path
) -> None:
    """A hub killed mid-run: failures counted, one alert, one recovery, the monkey resumes."""
    gate = KernelGate(tmp_path)
    before = Resources.now()
    async with running(private_hub, alerts=_alerts(receiver)) as (context, events, failures):
        flock = await start(context, **_flock(gate))
        await gate.wait_blocked()
        hub_proc = private_hub.proc
        assert hub_proc is not None
        os.kill(hub_proc.pid, signal.SIGKILL)
        await asyncio.wait_for(asyncio.to_thread(hub_proc.wait), WAIT)
        gate.release()
        report = (await failures.wait_for(1))[0]
        assert type(report.error).__name__ == "JupyterWebError"
        (alert,) = await receiver.wait_slack(1)
        assert alert["text"].startswith(
            ":rotating_light: Monkey failure in flock *fault*: JupyterWebError:"
        )
        ok_before = _successes(events)
        await asyncio.to_thread(private_hub.start)  # same ports: the monkey is not restarted
        recovery = (await receiver.wait_slack(2))[1]
        assert recovery["text"].startswith(":white_check_mark: Recovered: flock *fault*")
        await wait_until(events, EXECUTION, lambda _: _successes(events) > ok_before)
        (monkey,) = flock.monkeys
        assert monkey.business.failure_count == len(failures.reports) >= 1
        assert monkey.business.success_count >= 1
        await context.manager.stop_flock("fault")
        assert context.observability.slack is not None
        await context.observability.slack.flush()
        assert len(receiver.slack) == 2, [m["text"] for m in receiver.slack]
    await assert_hub_clean(private_hub, [USER])
    assert await left_running(private_hub) == []
    assert_no_leaks(before, mobu_tmp)


async def test_kernel_killed_mid_execution_recovers(
    private_hub: LocalHub, receiver: Receiver, mobu_tmp: Path, tmp_path: Path
) -> None:
    """A kernel killed mid-execution is one counted failure; the monkey goes on in a new one."""
    gate = KernelGate(tmp_path)
    before = Resources.now()
    async with running(private_hub, alerts=_alerts(receiver)) as (context, events, failures):
        flock = await start(context, **_flock(gate))
        await gate.wait_blocked()
        (kernel,) = _kernels(private_hub)
        os.kill(kernel.pid, signal.SIGKILL)
        await _wait_exit(kernel)
        gate.release()
        report = (await failures.wait_for(1))[0]
        ok_before = _successes(events)
        assert type(report.error).__name__ == "KernelConnectionError"
        (alert,) = await receiver.wait_slack(1)
        assert alert["text"].startswith(
            ":rotating_light: Monkey failure in flock *fault*: KernelConnectionError:"
        )
        recovery = (await receiver.wait_slack(2))[1]
        assert recovery["text"].startswith(":white_check_mark: Recovered: flock *fault*")
        await wait_until(events, EXECUTION, lambda _: _successes(events) > ok_before)
        assert kernel.pid not in {k.pid for k in _kernels(private_hub)}
        (monkey,) = flock.monkeys
        assert monkey.business.failure_count == len(failures.reports) == 1
        await context.manager.stop_flock("fault")
        assert context.observability.slack is not None
        await context.observability.slack.flush()
        assert len(receiver.slack) == 2, [m["text"] for m in receiver.slack]
    await assert_hub_clean(private_hub, [USER])
    assert await left_running(private_hub) == []
    assert _kernels(private_hub) == []
    assert_no_leaks(before, mobu_tmp)

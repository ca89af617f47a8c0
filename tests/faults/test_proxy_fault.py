"""The hub's proxy (configurable-http-proxy) killed mid-run under a running NubladoPythonLoop.

The hub notices a dead proxy on its own check (``check_running_interval``, 5 s by default),
starts a new one and restores the routes. While it is down the monkey's websocket drops and its
retries are refused, so how many failures (and of which error types) it sees depends on timing;
what must hold regardless: every root cause is alerted once and recovered once, the monkey goes
on through the new proxy, and nothing is left behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

import psutil
import pytest

from mobu.platform.hub import LocalHub
from tests.faults.conftest import (
    WAIT,
    KernelGate,
    Resources,
    assert_hub_clean,
    assert_no_leaks,
    needs_hub,
)
from tests.faults.test_hub_faults import EXECUTION, USER, _alerts, _flock, _successes
from tests.jupyter.support import running, start, wait_until
from tests.observability.receivers import Receiver
from tests.support.hubs import left_running

pytestmark = [pytest.mark.jupyter, needs_hub]

FAILURE = ":rotating_light: Monkey failure in flock *fault*: "
RECOVERY = ":white_check_mark: Recovered: flock *fault*"


def _proxy(hub: LocalHub) -> psutil.Process:
    """The hub's proxy process, found among the processes this hub started."""
    for proc in hub.processes():
        try:
            if any("configurable-http-proxy" in part for part in proc.cmdline()):
                return proc
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    raise AssertionError("the hub runs no proxy")


async def _new_proxy(hub: LocalHub, old: int) -> psutil.Process:
    """Wait (bounded) until the hub has started a proxy other than ``old``."""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                proxy = _proxy(hub)
            except AssertionError:
                proxy = None
            if proxy is not None and proxy.pid != old:
                return proxy
            await asyncio.sleep(0.2)  # polling a process table: there is no event to wait on


async def test_proxy_killed_mid_run_is_alerted_recovered_and_replaced(
    private_hub: LocalHub, receiver: Receiver, mobu_tmp: Path, tmp_path: Path
) -> None:
    """A proxy killed mid-execution: each root cause alerted and recovered once, work resumes."""
    gate = KernelGate(tmp_path)
    before = Resources.now()
    async with running(private_hub, alerts=_alerts(receiver)) as (context, events, failures):
        flock = await start(context, **_flock(gate))
        await gate.wait_blocked()
        old = _proxy(private_hub)
        os.kill(old.pid, signal.SIGKILL)
        await asyncio.wait_for(asyncio.to_thread(old.wait, WAIT), WAIT + 5)
        gate.release()
        first = (await failures.wait_for(1))[0]
        assert type(first.error).__name__ in {"KernelConnectionError", "JupyterWebError"}
        await _new_proxy(private_hub, old.pid)
        ok_before = _successes(events)
        await wait_until(events, EXECUTION, lambda _: _successes(events) > ok_before)
        (monkey,) = flock.monkeys
        assert monkey.business.failure_count == len(failures.reports) >= 1
        causes = Counter(type(r.error).__name__ for r in failures.reports)
        await receiver.wait_slack(2 * len(causes))
        await context.manager.stop_flock("fault")
        assert context.observability.slack is not None
        await context.observability.slack.flush()
        texts = [m["text"] for m in receiver.slack]
        alerted = Counter(t[len(FAILURE) :].split(":")[0] for t in texts if t.startswith(FAILURE))
        assert alerted == Counter(dict.fromkeys(causes, 1)), texts
        assert sum(t.startswith(RECOVERY) for t in texts) == len(causes), texts
        assert len(texts) == 2 * len(causes), texts
    await assert_hub_clean(private_hub, [USER])
    assert await left_running(private_hub) == []
    assert_no_leaks(before, mobu_tmp)

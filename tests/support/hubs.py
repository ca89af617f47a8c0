"""The real JupyterHubs of the hub tests, shared by tests/jupyter, tests/rsp and others.

Every process a hub started is remembered; :func:`no_leaked_processes` (an autouse fixture in
the conftests that start hubs) checks at the end of the session that all of them are gone.
The hub tests are skipped (with the reason) when npm's configurable-http-proxy is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psutil
import pytest

from mobu.platform.hub import LocalHub, find_configurable_http_proxy

__all__ = [
    "CHP",
    "EXIT_WAIT",
    "hub",
    "left_running",
    "needs_hub",
    "no_leaked_processes",
    "remember_processes",
    "require_chp",
    "serve_hub",
]

CHP = find_configurable_http_proxy()
needs_hub = pytest.mark.skipif(
    CHP is None,
    reason="npm configurable-http-proxy not installed (run scripts/install/jupyter.sh)",
)

_started: list[psutil.Process] = []


def remember_processes(processes: list[psutil.Process]) -> None:
    """Add processes to the end-of-session leak check."""
    _started.extend(p for p in processes if p.pid not in {q.pid for q in _started})


EXIT_WAIT = 120.0
"""Bound on the wait for a stopped lab's processes to exit (a hang reaches it, not a slow exit)."""


def _cwd(process: psutil.Process) -> str:
    try:
        return process.cwd()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return ""


async def left_running(hub: LocalHub, prefix: str = "") -> list[str]:
    """The users' labs and kernels still alive after a bounded wait for their exit.

    ``prefix`` selects the users (their homes under the hub's ``homes/``); empty: every user.
    The hub answers a lab's stop once the lab process ended, or after its own slow-stop timeout;
    a kernel the lab leaves (one whose start a stop interrupted, say) ends when it notices its
    parent is gone. So their exits are waited for, not assumed: a process that stays is a leak.
    Each is returned as "PID command line", for the assertion's message.
    """
    home = f"{hub.dir}/homes/{prefix}"
    procs = [p for p in hub.user_processes() if _cwd(p).startswith(home)]
    remember_processes(procs)
    _gone, alive = await asyncio.to_thread(psutil.wait_procs, procs, EXIT_WAIT)
    left = []
    for proc in alive:
        try:
            left.append(f"{proc.pid} {' '.join(proc.cmdline())}")
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return left


def require_chp() -> str:
    """configurable-http-proxy's path, or skip the test."""
    if CHP is None:
        pytest.skip("npm configurable-http-proxy not installed (run scripts/install/jupyter.sh)")
    return CHP


def serve_hub[H: LocalHub](local: H) -> Iterator[H]:
    """Start ``local``, yield it, then stop it (its processes go to the leak check)."""
    local.start()
    try:
        yield local
    finally:
        remember_processes(local.processes())
        local.stop()
        local.cleanup()


@pytest.fixture(scope="session")
def hub() -> Iterator[LocalHub]:
    """A JupyterHub with an admin service token; every user server is stopped at the end."""
    yield from serve_hub(LocalHub(chp=require_chp()))


@pytest.fixture(scope="session", autouse=True)
def no_leaked_processes() -> Iterator[None]:
    """After the whole session, no lab, kernel, hub or proxy process we started is alive."""
    yield
    alive = [p for p in _started if _alive(p)]
    assert alive == [], f"leaked processes: {[(p.pid, p.name()) for p in alive]}"


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False

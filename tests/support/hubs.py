"""The real JupyterHubs of the hub tests, shared by tests/jupyter, tests/rsp and others.

Every process a hub started is remembered; :func:`no_leaked_processes` (an autouse fixture in
the conftests that start hubs) checks at the end of the session that all of them are gone.
The hub tests are skipped (with the reason) when npm's configurable-http-proxy is missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import psutil
import pytest

from mobu.platform.hub import LocalHub, find_configurable_http_proxy

__all__ = [
    "CHP",
    "hub",
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

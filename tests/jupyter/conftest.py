"""Real Jupyter servers for the Jupyter tests: a bare jupyter server and a JupyterHub.

Both are session-scoped; the hub and the leak check are :mod:`tests.support.hubs`'s (shared with
tests/rsp): the hub tests are skipped (with the reason) when npm's configurable-http-proxy is not
installed, and at the end of the session every process the servers started must be gone.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from mobu.platform.hub import LocalHub, LocalJupyterServer
from mobu.storage.jupyter import HubClient, LabClient
from tests.support.hubs import (
    CHP,
    hub,
    needs_hub,
    no_leaked_processes,
    remember_processes,
)

__all__ = [
    "CHP",
    "admin",
    "commit_file",
    "http",
    "hub",
    "jupyter_server",
    "lab",
    "make_git_repo",
    "needs_hub",
    "no_leaked_processes",
    "remember_processes",
]


@pytest.fixture(scope="session")
def jupyter_server() -> Iterator[LocalJupyterServer]:
    """A bare ``jupyter server`` with token authentication."""
    server = LocalJupyterServer(base_url="/js/")
    server.start()
    try:
        yield server
    finally:
        remember_processes(server.processes())
        killed = server.stop()
        server.cleanup()
        assert killed == [], f"jupyter server left processes that had to be killed: {killed}"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client that ignores proxy variables."""
    async with httpx.AsyncClient(trust_env=False, timeout=60) as client:
        yield client


@pytest.fixture
def lab(jupyter_server: LocalJupyterServer, http: httpx.AsyncClient) -> LabClient:
    """A lab client of the bare server."""
    return LabClient(jupyter_server.url, jupyter_server.token, username="bot-mobu-test", http=http)


@pytest.fixture
def admin(hub: LocalHub, http: httpx.AsyncClient) -> HubClient:
    """A hub client with the admin service token."""
    return HubClient(hub.url, hub.admin_token, http=http)


def make_git_repo(path: Path, files: dict[str, str], *, branch: str = "main") -> Path:
    """Create a git repository with ``files`` committed on ``branch``."""
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(path)]
    subprocess.run([*git, "init", "-q", "-b", branch], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    return path


def commit_file(path: Path, name: str, text: str) -> None:
    """Add or change one file and commit it."""
    (path / name).parent.mkdir(parents=True, exist_ok=True)
    (path / name).write_text(text)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(path)]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", f"change {name}"], check=True)

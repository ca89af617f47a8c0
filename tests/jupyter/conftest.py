"""Real Jupyter servers for the Jupyter tests: a bare jupyter server and a JupyterHub.

Both are session-scoped; the hub tests are skipped (with the reason) when npm's
configurable-http-proxy is not installed. At the end of the session every process the servers
started must be gone.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from mobu.platform.hub import LocalHub, LocalJupyterServer, find_configurable_http_proxy
from mobu.storage.jupyter import HubClient, LabClient

CHP = find_configurable_http_proxy()
needs_hub = pytest.mark.skipif(
    CHP is None,
    reason="npm configurable-http-proxy not installed (run scripts/install/jupyter.sh)",
)

_started: list[psutil.Process] = []


def _remember(processes: list[psutil.Process]) -> None:
    _started.extend(p for p in processes if p.pid not in {q.pid for q in _started})


@pytest.fixture(scope="session")
def jupyter_server() -> Iterator[LocalJupyterServer]:
    """A bare ``jupyter server`` with token authentication."""
    server = LocalJupyterServer(base_url="/js/")
    server.start()
    try:
        yield server
    finally:
        _remember(server.processes())
        killed = server.stop()
        server.cleanup()
        assert killed == [], f"jupyter server left processes that had to be killed: {killed}"


@pytest.fixture(scope="session")
def hub() -> Iterator[LocalHub]:
    """A JupyterHub with an admin service token; every user server is stopped at the end."""
    if CHP is None:
        pytest.skip("npm configurable-http-proxy not installed (run scripts/install/jupyter.sh)")
    local = LocalHub(chp=CHP)
    local.start()
    try:
        yield local
    finally:
        _remember(local.processes())
        local.stop()
        local.cleanup()


@pytest.fixture(scope="session", autouse=True)
def _no_leaked_processes() -> Iterator[None]:
    """After the whole session, no lab, kernel, hub or proxy process we started is alive."""
    yield
    alive = [p for p in _started if _alive(p)]
    assert alive == [], f"leaked processes: {[(p.pid, p.name()) for p in alive]}"


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def remember_processes(processes: list[psutil.Process]) -> None:
    """Add processes to the end-of-session leak check."""
    _remember(processes)


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

"""Local Git LFS servers for the GitLFS tests and demo: giftless plus a smart-HTTP git server.

giftless (installed by ``scripts/install/lfs.sh`` into its own venv) serves the LFS batch API with
local storage under gunicorn, on two loopback ports bound here at port 0 and handed over as file
descriptors (no port race):

* the *read* port answers anonymous reads, as a public LFS endpoint does;
* the *write* port requires HTTP Basic credentials whose password is the configured token (the
  user name is ignored) and answers 401 otherwise, as an authenticating ingress does.

The git smart-HTTP server (:mod:`mobu.platform.githttp`) serves bare repositories; pushes need the
same token.
Run ``python -m mobu.platform.lfs`` to start both and print their URLs and token as JSON (the token
is ``$MOBU_LFS_TOKEN`` or a random one); it stops them on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mobu.platform.giftless import giftless_config, supports_no_control_socket
from mobu.platform.processtree import descendants, terminate
from mobu.platform.settings import PlatformSettings

__all__ = [
    "LfsServers",
    "lfs_unavailable_reason",
    "run_lfs_servers",
]

_SOURCE_ROOT = Path(__file__).resolve().parents[2]
"""Directory that holds the ``mobu`` package (for the git server's ``python -m``)."""


def lfs_unavailable_reason(platform: PlatformSettings | None = None) -> str | None:
    """Say why the LFS servers cannot run here, or None when they can.

    giftless is looked for in ``platform.giftless_venv`` (default: :class:`PlatformSettings`
    from the environment).
    """
    if shutil.which("git") is None:
        return "git is not installed"
    if shutil.which("git-lfs") is None:
        return "git-lfs is not installed (run scripts/install/lfs.sh as root)"
    venv = (platform or PlatformSettings()).giftless_venv
    if not (venv / "bin" / "gunicorn").exists():
        return f"giftless is not installed in {venv} (run scripts/install/lfs.sh)"
    return None


@dataclass
class LfsServers:
    """Running giftless and git smart-HTTP servers.

    Attributes
    ----------
    read_port, write_port
        giftless ports: anonymous reads, and token-authenticated reads and writes.
    git_port
        Port of the git smart-HTTP server, serving bare repositories under ``git_root``.
    token
        Token that the write port and git pushes accept.
    storage
        Where giftless stores objects (``<storage>/<org>/<repo>/<oid>``).
    """

    read_port: int
    write_port: int
    git_port: int
    token: str
    directory: Path
    storage: Path
    git_root: Path
    _processes: list[asyncio.subprocess.Process] = field(default_factory=list, repr=False)
    _platform: PlatformSettings = field(default_factory=PlatformSettings, repr=False)

    def lfs_read_url(self, org: str = "mobu", repo: str = "check") -> str:
        """LFS endpoint for anonymous reads."""
        return f"http://127.0.0.1:{self.read_port}/{org}/{repo}.git/info/lfs"

    def lfs_write_url(self, org: str = "mobu", repo: str = "check") -> str:
        """LFS endpoint that requires the token."""
        return f"http://127.0.0.1:{self.write_port}/{org}/{repo}.git/info/lfs"

    def git_url(self, repo: str) -> str:
        """URL of a bare repository served over smart HTTP (create it with :meth:`create_repo`)."""
        return f"http://127.0.0.1:{self.git_port}/{repo}.git"

    def create_repo(self, repo: str) -> Path:
        """Create a bare repository (branch ``main``) that accepts pushes over HTTP."""
        path = self.git_root / f"{repo}.git"
        subprocess.run(
            ["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True, env=_git_env()
        )
        subprocess.run(
            ["git", "-C", str(path), "config", "http.receivepack", "true"],
            check=True,
            env=_git_env(),
        )
        return path

    def object_path(self, oid: str, org: str = "mobu", repo: str = "check") -> Path:
        """Where giftless stores the object with this sha256."""
        return self.storage / org / repo / oid

    @property
    def pids(self) -> list[int]:
        """Process IDs of the server processes (each leads its own process group)."""
        return [p.pid for p in self._processes]

    async def kill_giftless(self) -> int:
        """Kill giftless (SIGKILL to its process group) and wait until its workers are gone.

        Returns the PID of its gunicorn master; :meth:`restart_giftless` starts it again on the
        same ports. The git server keeps running.
        """
        process = self._processes[0]
        family = descendants(process.pid)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        await asyncio.to_thread(terminate, family, 10.0, first_signal=signal.SIGKILL)
        return process.pid

    async def restart_giftless(self) -> None:
        """Start giftless again on the same read and write ports; wait until it answers."""
        if self._processes[0].returncode is None:
            raise RuntimeError("giftless is still running")
        read_sock, write_sock = _listen(self.read_port), _listen(self.write_port)
        try:
            process = await _spawn_giftless(self, read_sock, write_sock)
        finally:
            read_sock.close()
            write_sock.close()
        self._processes[0] = process
        url = f"http://127.0.0.1:{self.read_port}/"
        await _wait_ready(url, process, "giftless", self.directory / "giftless.log")

    async def stop(self) -> None:
        """Stop the servers by process group: TERM, then KILL after five seconds."""
        for process in self._processes:
            await _stop_group(process)
        self._processes.clear()


def _git_env() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tempfile.gettempdir(),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }


async def _stop_group(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        async with asyncio.timeout(5):
            await process.wait()
    except TimeoutError:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


def _listen(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _port(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port


async def _wait_ready(url: str, process: asyncio.subprocess.Process, what: str, log: Path) -> None:
    """Retry ``url`` with a short backoff until it answers (overall deadline 30 s)."""
    delay = 0.05
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"{what} exited with {process.returncode}: {_tail(log)}")
            try:
                await client.get(url)
            except httpx.TransportError:
                if loop.time() > deadline:
                    raise RuntimeError(f"{what} did not answer at {url}: {_tail(log)}") from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
            else:
                return


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


async def _spawn(
    argv: list[str], *, env: dict[str, str], fds: Iterable[int], log: Path, cwd: Path
) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            pass_fds=tuple(fds),
            start_new_session=True,
        )


@asynccontextmanager
async def run_lfs_servers(
    token: str | None = None,
    directory: Path | None = None,
    *,
    platform: PlatformSettings | None = None,
) -> AsyncIterator[LfsServers]:
    """Start giftless and the git smart-HTTP server on free loopback ports; stop them after.

    Parameters
    ----------
    token
        Token the write port accepts; a random one by default.
    directory
        Where storage, repositories and logs go; a temporary directory (removed after) by default.
    platform
        Where giftless is installed; default :class:`PlatformSettings` from the environment.
    """
    platform = platform or PlatformSettings()
    if (reason := lfs_unavailable_reason(platform)) is not None:
        raise RuntimeError(reason)
    token = token or secrets.token_urlsafe(24)
    owned = directory is None
    base = Path(tempfile.mkdtemp(prefix="mobu-lfs-")) if directory is None else directory
    storage = base / "storage"
    git_root = base / "git"
    for made in (storage, git_root):
        made.mkdir(parents=True, exist_ok=True)
    read_sock, write_sock, git_sock = _listen(), _listen(), _listen()
    servers = LfsServers(
        read_port=_port(read_sock),
        write_port=_port(write_sock),
        git_port=_port(git_sock),
        token=token,
        directory=base,
        storage=storage,
        git_root=git_root,
        _platform=platform,
    )
    try:
        servers._processes.append(await _start_giftless(servers, read_sock, write_sock))
        await _start_git_server(servers, git_sock)
        for sock in (read_sock, write_sock, git_sock):
            sock.close()
        await _wait_ready(
            f"http://127.0.0.1:{servers.read_port}/",
            servers._processes[0],
            "giftless",
            base / "giftless.log",
        )
        await _wait_ready(
            servers.git_url("none"), servers._processes[1], "git server", base / "git-http.log"
        )
        yield servers
    finally:
        for sock in (read_sock, write_sock, git_sock):
            sock.close()
        await servers.stop()
        if owned:
            await asyncio.to_thread(shutil.rmtree, base, True)


async def _start_giftless(
    servers: LfsServers, read_sock: socket.socket, write_sock: socket.socket
) -> asyncio.subprocess.Process:
    """Configure giftless in the servers' directory, then start it on the two sockets."""
    giftless_config(servers.directory, servers.storage, servers.token, servers.write_port)
    return await _spawn_giftless(servers, read_sock, write_sock)


async def _spawn_giftless(
    servers: LfsServers, read_sock: socket.socket, write_sock: socket.socket
) -> asyncio.subprocess.Process:
    """Start gunicorn serving giftless (configured in the directory) on the two sockets."""
    base = servers.directory
    venv = servers._platform.giftless_venv
    giftless_env = {
        "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "GIFTLESS_CONFIG_FILE": str(base / "giftless.yaml"),
        "PYTHONPATH": str(base),
        "HOME": str(base),
    }
    fds = [read_sock.fileno(), write_sock.fileno()]
    argv = [str(venv / "bin" / "gunicorn"), "--workers", "2", "--no-control-socket"]
    argv += [a for fd in fds for a in ("--bind", f"fd://{fd}")]
    argv.append("giftless.wsgi_entrypoint:app")
    if not supports_no_control_socket(venv):
        argv.remove("--no-control-socket")
    log = base / "giftless.log"
    return await _spawn(argv, env=giftless_env, fds=fds, log=log, cwd=base)


async def _start_git_server(servers: LfsServers, git_sock: socket.socket) -> None:
    """Start mobu's git smart-HTTP server on ``git_sock``."""
    base = servers.directory
    git_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(_SOURCE_ROOT),
        "MOBU_LFS_TOKEN": servers.token,
    }
    git_argv = [sys.executable, "-m", "mobu.platform.githttp"]
    git_argv += ["--root", str(servers.git_root), "--fd", str(git_sock.fileno())]
    git_log = base / "git-http.log"
    servers._processes.append(
        await _spawn(git_argv, env=git_env, fds=[git_sock.fileno()], log=git_log, cwd=base)
    )


async def _serve_until_signal(token: str | None) -> None:
    async with run_lfs_servers(token) as servers:
        info = {
            "lfs_read_url": servers.lfs_read_url(),
            "lfs_write_url": servers.lfs_write_url(),
            "git_url": servers.git_url("<repo>"),
            "token": servers.token,
            "pids": servers.pids,
        }
        print(json.dumps(info), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Command line: start the servers, print their URLs, stop them on SIGINT/SIGTERM."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mobu.platform.lfs", description=__doc__)
    parser.parse_args(argv)
    asyncio.run(_serve_until_signal(os.environ.get("MOBU_LFS_TOKEN") or None))


if __name__ == "__main__":
    main()

"""Start and stop a private GAVO DaCHS server (TAP, UWS, SIA v2) on a free loopback port.

Each :class:`DachsServer` is self-contained under one directory (by default
``.services/dachs/run-<pid>-<random>/`` in the repository): a copy of the prepared template
(:mod:`mobu.platform.dachs.prepare`) with its own PostgreSQL, listening only on a Unix socket
there, and its own DaCHS root and configuration file (``GAVOSETTINGS``). Nothing touches
``/etc/gavo.rc``, ``/var/gavo`` or the system's PostgreSQL cluster, so several servers (tests and
the demo) can run at once. DaCHS itself comes from Debian (``scripts/install/dachs.sh``) and runs
on Debian's Python; mobu only talks HTTP to it.

As root, PostgreSQL runs as ``postgres`` and DaCHS as ``dachsroot``; otherwise both run as the
current user. Both processes are children of the caller in their own process groups, and
:meth:`DachsServer.stop` ends them by PID.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from mobu.platform.dachs.prepare import gavo_env, prepared_template, settings_text, write_dsn
from mobu.platform.dachs.processes import (
    DachsError,
    ProcessGroup,
    SpawnHook,
    free_port,
    pg_bindir,
    reap_stale,
    service_accounts,
    tail,
)
from mobu.platform.processtree import descendants, terminate
from mobu.platform.settings import PlatformSettings

__all__ = [
    "DachsError",
    "DachsServer",
    "dachs_unavailable_reason",
    "default_base_dir",
    "running_dachs",
]

_FAULT_TIMEOUT = 30.0
"""Bound on waiting for a killed DaCHS to exit (only a hang reaches it)."""


def default_base_dir(platform: PlatformSettings | None = None) -> Path:
    """Return ``dachs`` under ``platform.services_dir`` (default: settings from the environment)."""
    return (platform or PlatformSettings()).dachs_dir


def dachs_unavailable_reason() -> str | None:
    """Say why a DaCHS server cannot be started here, or return None if it can."""
    if shutil.which("dachs") is None:
        return "GAVO DaCHS is not installed (scripts/install/dachs.sh installs it as root)"
    if pg_bindir() is None:
        return "PostgreSQL with pgsphere and q3c is not installed (scripts/install/dachs.sh)"
    for account in set(service_accounts()):
        try:
            pwd.getpwnam(account.name)
        except KeyError:
            return f"user {account.name} does not exist (scripts/install/dachs.sh creates it)"
    return None


@dataclass
class DachsServer:
    """A running private DaCHS server. Create it with :meth:`start`.

    Attributes
    ----------
    url
        Base URL of the server, ``http://127.0.0.1:<port>``.
    directory
        Directory holding everything of this server (removed by :meth:`stop`).
    rows
        Number of rows in the ``synth.main`` catalogue.
    """

    url: str
    directory: Path
    rows: int
    _group: ProcessGroup = field(init=False, repr=False)
    _keep: bool = False
    _web: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._group = ProcessGroup(self.directory)

    @property
    def tap_url(self) -> str:
        """Base URL of the TAP service."""
        return f"{self.url}/tap"

    @property
    def sia_url(self) -> str:
        """URL of the site-wide SIA v2 service."""
        return f"{self.url}/__system__/siap2/sitewide/siap2.xml"

    @property
    def pids(self) -> list[int]:
        """PIDs of the running processes (PostgreSQL, DaCHS)."""
        return [p.pid for p in self._group.processes if p.poll() is None]

    @classmethod
    def start(
        cls,
        base_dir: Path | None = None,
        *,
        rows: int = 5000,
        timeout: float = 180.0,
        warm_up: bool = True,
        keep: bool = False,
        on_spawn: SpawnHook | None = None,
        platform: PlatformSettings | None = None,
    ) -> Self:
        """Start PostgreSQL and DaCHS with the synthetic data and wait until TAP answers.

        Parameters
        ----------
        base_dir
            Parent of the server's directory; default :func:`default_base_dir` of ``platform``.
        rows
            Rows of the synthetic catalogue.
        timeout
            Overall deadline in seconds (including building the template the first time).
        warm_up
            Run one sync and one async query, so that the first real query is not the slow one
            that loads everything.
        keep
            Keep the directory after :meth:`stop` (to read the logs).
        on_spawn
            Told the PID of each process (PostgreSQL, DaCHS, setup commands) as soon as it is
            spawned; if it raises, the start stops what it started and raises that.
        platform
            Where the local services are installed; default :class:`PlatformSettings` from the
            environment.

        Raises
        ------
        DachsError
            Something failed; the message names the step and shows the end of its log.
        """
        reason = dachs_unavailable_reason()
        if reason is not None:
            raise DachsError(reason)
        deadline = time.monotonic() + timeout
        base = base_dir or default_base_dir(platform)
        base.mkdir(parents=True, exist_ok=True)
        reap_stale(base)
        template = prepared_template(base, rows, deadline, on_spawn)
        directory = base / f"run-{os.getpid()}-{secrets.token_hex(3)}"
        directory.mkdir(mode=0o755)
        server = cls(url="", directory=directory, rows=rows, _keep=keep)
        server._group.on_spawn = on_spawn
        try:
            server._launch(template, deadline, warm_up=warm_up)
        except BaseException:
            server.stop()
            raise
        return server

    # Startup ----------------------------------------------------------------------------------

    def _launch(self, template: Path, deadline: float, *, warm_up: bool) -> None:
        pg, dachs = service_accounts()
        data = self.directory / "pgdata"
        root = self.directory / "gavo"
        shutil.copytree(template / "pgdata", data, symlinks=True)
        os.chmod(data, 0o700)
        pg.chown(data)
        shutil.copytree(template / "gavo", root, symlinks=True)
        sockets = self._group.start_postgres(pg, deadline)
        write_dsn(root, sockets)
        dachs.chown(root)
        settings = self.directory / "gavo.rc"
        for attempt in range(3):
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            settings.write_text(settings_text(root, port, dachs.name))
            web = self._group.spawn(
                dachs, ["dachs", "serve", "start", "--foreground"], gavo_env(settings), "dachs.log"
            )
            if self._wait_web(web, deadline, last=attempt == 2):
                self._web = web
                break
        if warm_up:
            self._warm_up(deadline)

    def _wait_web(self, web: subprocess.Popen[bytes], deadline: float, *, last: bool) -> bool:
        """Wait until TAP is available; False if the port was taken and another try is left."""
        url = f"{self.tap_url}/availability"
        delay = 0.1
        while True:  # readiness of a server just spawned: short backoff under a deadline
            try:
                if b"true</avl:available>" in httpx.get(url, timeout=5).content:
                    return True
            except httpx.HTTPError:
                pass
            log = self.directory / "dachs.log"
            if web.poll() is not None:
                text = tail(log)
                if "already listens" in text and not last:
                    self._group.forget(web)
                    return False
                raise DachsError(f"DaCHS exited with {web.returncode}:\n{text}")
            if time.monotonic() > deadline:
                raise DachsError(f"DaCHS did not become available at {url}:\n{tail(log)}")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _warm_up(self, deadline: float) -> None:
        query = "SELECT TOP 1 object_id FROM synth.main"
        self.sync_query(query)
        remaining = max(1, int(deadline - time.monotonic()))
        with httpx.Client(timeout=remaining + 5, follow_redirects=True) as client:
            job = str(
                client.post(f"{self.tap_url}/async", data={"LANG": "ADQL", "QUERY": query}).url
            )
            client.post(f"{job}/phase", data={"PHASE": "RUN"})
            client.get(job, params={"WAIT": str(min(remaining, 60))})
            client.delete(job, follow_redirects=False)

    # Helpers for tests ------------------------------------------------------------------------

    def sync_query(self, query: str) -> str:
        """Run an ADQL query through ``/tap/sync`` and return the CSV result."""
        data = {"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": "csv"}
        response = httpx.post(f"{self.tap_url}/sync", data=data, timeout=60)
        response.raise_for_status()
        return response.text

    def async_jobs(self) -> list[str]:
        """Return the ids of the jobs in the UWS job list of ``/tap/async``."""
        response = httpx.get(f"{self.tap_url}/async", timeout=30)
        response.raise_for_status()
        tree = ET.fromstring(response.content)  # noqa: S314 - our own local server
        return [str(ref.get("id")) for ref in tree.iter() if ref.tag.endswith("jobref")]

    # Faults -----------------------------------------------------------------------------------

    def kill_web(self) -> int:
        """Kill DaCHS (SIGKILL to its process group) and wait for its exit; PostgreSQL stays.

        Returns the PID of the killed process. :meth:`restart_web` starts it again.
        """
        web = self._web
        if web is None:
            raise DachsError("DaCHS is not running")
        self._web = None
        family = descendants(web.pid)
        with suppress(ProcessLookupError):
            os.killpg(web.pid, signal.SIGKILL)
        web.wait(timeout=_FAULT_TIMEOUT)
        self._group.forget(web)
        terminate(family, _FAULT_TIMEOUT, first_signal=signal.SIGKILL)
        return web.pid

    def restart_web(self, timeout: float = 120.0) -> None:
        """Start DaCHS again on the same port (after :meth:`kill_web`); wait until TAP answers."""
        if self._web is not None:
            raise DachsError("DaCHS is already running")
        _, dachs = service_accounts()
        env = gavo_env(self.directory / "gavo.rc")
        argv = ["dachs", "serve", "start", "--foreground"]
        web = self._group.spawn(dachs, argv, env, "dachs.log")
        self._wait_web(web, time.monotonic() + timeout, last=True)
        self._web = web

    # Stopping ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop DaCHS, then PostgreSQL (by PID, process group), and remove the directory."""
        self._web = None
        self._group.stop()
        if not self._keep:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@asynccontextmanager
async def running_dachs(
    base_dir: Path | None = None, *, platform: PlatformSettings | None = None
) -> AsyncIterator[DachsServer]:
    """Start a private DaCHS server without blocking the event loop; stop it on exit."""
    server = await asyncio.to_thread(DachsServer.start, base_dir, platform=platform)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)

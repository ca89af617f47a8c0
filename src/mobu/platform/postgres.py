"""Run Debian's PostgreSQL server in a throwaway cluster on a free loopback port.

For tests (the history store on a real PostgreSQL) and for trying ``history.url`` locally::

    async with run_postgres() as postgres:
        print(postgres.url)  # postgresql+asyncpg://mobu@127.0.0.1:PORT/postgres

``initdb`` makes a cluster in ``directory`` (trust authentication, user ``mobu``); the server
listens on 127.0.0.1 only, with its socket in the cluster's directory. As root the server runs
as the ``postgres`` user (PostgreSQL refuses to run as root). It is stopped by its PID.
Install it with ``scripts/install/postgres.sh`` (``apt-get install postgresql``).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from mobu.exceptions import MobuError

__all__ = ["PostgresServer", "PostgresUnavailableError", "postgres_bin_dir", "run_postgres"]

READY_DEADLINE = 60.0
"""Seconds the server may take to accept connections."""

USER = "mobu"
"""Database superuser of the throwaway cluster."""


class PostgresUnavailableError(MobuError):
    """PostgreSQL is not installed, or the server did not start."""


def postgres_bin_dir() -> Path | None:
    """Directory of ``initdb`` and ``postgres`` (Debian: the newest /usr/lib/postgresql/N/bin)."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1].parent
    found = shutil.which("postgres")
    if found is not None and shutil.which("initdb") is not None:
        return Path(found).parent
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner() -> dict[str, Any]:
    """Subprocess arguments that drop root to the ``postgres`` user (nothing otherwise)."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailableError("running as root and no postgres user exists") from None
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


class PostgresServer:
    """A throwaway PostgreSQL cluster; :meth:`stop` and :meth:`start` it again on one port."""

    def __init__(self, directory: Path, bin_dir: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.bin_dir = bin_dir
        self.port = _free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        """Async SQLAlchemy URL of its ``postgres`` database."""
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/postgres"

    async def init(self) -> None:
        """Create the cluster (``initdb``)."""
        owner = _as_owner()
        self.directory.mkdir(parents=True, exist_ok=True)
        if owner:
            shutil.chown(self.directory, "postgres", "postgres")
        process = await asyncio.create_subprocess_exec(
            str(self.bin_dir / "initdb"),
            "-D", str(self.data), "-A", "trust", "-U", USER, "--no-sync", "-E", "UTF8",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            **owner,
        )  # fmt: skip
        output, _ = await process.communicate()
        if process.returncode != 0:
            tail = output.decode(errors="replace")[-2000:]
            raise PostgresUnavailableError(f"initdb failed: {tail}")

    async def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        owner = _as_owner()
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                str(self.bin_dir / "postgres"),
                "-D", str(self.data), "-p", str(self.port), "-k", str(self.directory),
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                **owner,
            )  # fmt: skip
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        """Retry a connection with a short backoff under a deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_DEADLINE
        delay = 0.05
        engine = create_async_engine(self.url, connect_args={"timeout": 5})
        try:
            while True:
                if self.process is None or self.process.returncode is not None:
                    tail = self.log.read_text(errors="replace")[-2000:]
                    raise PostgresUnavailableError(f"postgres exited: {tail}")
                with suppress(OSError, SQLAlchemyError, TimeoutError):
                    async with engine.connect():
                        return
                if loop.time() > deadline:
                    message = f"postgres not ready after {READY_DEADLINE:g} s"
                    raise PostgresUnavailableError(message)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
        finally:
            await engine.dispose()

    async def stop(self) -> None:
        """Stop the server (fast shutdown, by PID; killed if it does not exit in 10 s)."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


@asynccontextmanager
async def run_postgres(directory: Path | None = None) -> AsyncIterator[PostgresServer]:
    """Create a cluster in ``directory`` and run it on 127.0.0.1 and a free port.

    Without ``directory``, a fresh one under the temp dir is used and removed afterwards (as
    root, ``directory`` must be reachable by the ``postgres`` user: pytest's ``tmp_path`` is not).

    Raises
    ------
    PostgresUnavailableError
        Not installed, or not ready within 60 seconds.
    """
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailableError("postgresql is not installed")
    own = directory is None
    where = Path(tempfile.mkdtemp(prefix="mobu-postgres-")) if directory is None else directory
    server = PostgresServer(where, bin_dir)
    try:
        await server.init()
        await server.start()
        yield server
    finally:
        await server.stop()
        if own:
            shutil.rmtree(where, ignore_errors=True)

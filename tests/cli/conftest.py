"""Fixtures for the CLI tests: a real ``mobu serve`` subprocess on a free port."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner, Result

MOBU = str(Path(sys.executable).parent / "mobu")
URL_LINE = re.compile(r"mobu API listening on (http://\S+)")
START_TIMEOUT = 90.0
STOP_TIMEOUT = 90.0


@dataclass
class ServerProcess:
    """A running ``mobu serve``."""

    url: str
    process: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for_output(self, text: str, timeout: float = 60.0) -> None:
        """Wait until the server printed a line containing ``text``."""
        async with asyncio.timeout(timeout), self.changed:
            await self.changed.wait_for(lambda: any(text in line for line in self.output))

    async def terminate(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` to the server and return its exit status."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        return await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)

    @property
    def log(self) -> str:
        """Everything the server printed so far."""
        return "".join(self.output)


async def _read_lines(
    process: asyncio.subprocess.Process,
    output: list[str],
    url: asyncio.Future[str],
    changed: asyncio.Condition,
) -> None:
    """Collect the server's output; resolve ``url`` when it announces where it listens."""
    assert process.stdout is not None
    async for raw in process.stdout:
        line = raw.decode(errors="replace")
        async with changed:
            output.append(line)
            changed.notify_all()
        if not url.done() and (match := URL_LINE.search(line)):
            url.set_result(match.group(1))


@asynccontextmanager
async def mobu_server(
    tmp_path: Path,
    config: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    *,
    wait_ready: bool = True,
) -> AsyncIterator[ServerProcess]:
    """Start ``mobu serve --port 0`` and yield it once it announced its URL.

    With ``wait_ready`` false, yield at once (``url`` is empty until announced).
    """
    path = tmp_path / "mobu-config.yaml"
    path.write_text(yaml.safe_dump(config or {}))
    process = await asyncio.create_subprocess_exec(
        MOBU,
        "serve",
        "--port",
        "0",
        "--config",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    output: list[str] = []
    url: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    changed = asyncio.Condition()
    reader = asyncio.create_task(_read_lines(process, output, url, changed))
    try:
        if wait_ready:
            await asyncio.wait({url, reader}, timeout=START_TIMEOUT, return_when="FIRST_COMPLETED")
            if not url.done():
                raise RuntimeError(f"mobu serve did not start:\n{''.join(output)}")
        server = ServerProcess(
            url=url.result() if url.done() else "", process=process, output=output, changed=changed
        )
        yield server
    finally:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        await reader


async def invoke(command: click.Command, args: list[str], **env: str) -> Result:
    """Run a click command in a thread (it runs its own event loop) and return the result."""
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, command, args, env=env, catch_exceptions=False)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    """A server with the default configuration (no auth, loopback)."""
    async with mobu_server(tmp_path) as server:
        yield server

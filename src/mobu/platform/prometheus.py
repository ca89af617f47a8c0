"""Run Debian's Prometheus server on a free loopback port, scraping given targets.

For tests and for operators who want to look at mobu's metrics locally::

    async with run_prometheus(["127.0.0.1:8080"], directory=tmp) as prometheus:
        print(await prometheus.query("mobu_iterations_total"))

Install it with ``scripts/install/prometheus.sh`` (``apt-get install prometheus``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mobu.exceptions import MobuError

__all__ = ["PrometheusServer", "PrometheusUnavailableError", "prometheus_binary", "run_prometheus"]

READY_DEADLINE = 30.0
"""Seconds Prometheus may take to become ready."""


class PrometheusUnavailableError(MobuError):
    """The prometheus binary is not installed, or the server did not start."""


def prometheus_binary() -> str | None:
    """Path of the prometheus binary, if installed."""
    return shutil.which("prometheus")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrometheusServer:
    """A running Prometheus."""

    url: str
    process: asyncio.subprocess.Process
    log: Path

    async def query(self, expression: str) -> list[dict[str, Any]]:
        """Run an instant query; return the ``result`` vector."""
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{self.url}/api/v1/query", params={"query": expression})
        response.raise_for_status()
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusUnavailableError(f"query failed: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets with their health."""
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{self.url}/api/v1/targets")
        response.raise_for_status()
        active: list[dict[str, Any]] = response.json()["data"]["activeTargets"]
        return active


@asynccontextmanager
async def run_prometheus(
    targets: list[str], *, directory: Path, scrape_interval: str = "1s"
) -> AsyncIterator[PrometheusServer]:
    """Start Prometheus on 127.0.0.1 and a free port scraping ``targets`` (``host:port``).

    Stops it (its whole process group, by PID) on exit.

    Raises
    ------
    PrometheusUnavailableError
        Not installed, or not ready within 30 seconds.
    """
    binary = prometheus_binary()
    if binary is None:
        raise PrometheusUnavailableError("prometheus is not installed")
    config = _write_config(directory, targets, scrape_interval)
    port = _free_port()
    log = directory / "prometheus.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h",
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    server = PrometheusServer(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        await _wait_ready(server)
        yield server
    finally:
        await _stop(process)


def _write_config(directory: Path, targets: list[str], scrape_interval: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "prometheus.yml"
    quoted = ", ".join(f"'{t}'" for t in targets)
    config.write_text(
        f"global: {{scrape_interval: {scrape_interval}, evaluation_interval: {scrape_interval}}}\n"
        "scrape_configs:\n"
        "  - job_name: mobu\n"
        f"    static_configs: [{{targets: [{quoted}]}}]\n"
    )
    return config


async def _wait_ready(server: PrometheusServer) -> None:
    """Readiness of the server just spawned: retry with a short backoff under a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_DEADLINE
    delay = 0.05
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            if server.process.returncode is not None:
                tail = server.log.read_text(errors="replace")[-2000:]
                raise PrometheusUnavailableError(f"prometheus exited: {tail}")
            with suppress(httpx.HTTPError):
                response = await client.get(f"{server.url}/-/ready")
                if response.status_code == 200:
                    return
            if loop.time() > deadline:
                raise PrometheusUnavailableError("prometheus not ready after 30 s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()

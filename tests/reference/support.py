"""The reference's deployments as test data: chart defaults, overlays, the chart's environment.

``tests/data/reference/chart-values.yaml`` holds the chart's ``config:`` defaults
(reference-deployment.md §1), ``example-deployment.yaml`` the real deployment of §5 as written,
``overlays/`` fifteen deployments written from §5's "Other deployments add" list. A deployment's
configuration is the defaults overlaid with its file: maps merged key by key, lists replaced.
"""

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

from mobu.exceptions import QuerySetError
from mobu.metrics.config import MetricsConfig
from mobu.services.business.querysets import SHIPPED_ONLY
from mobu.yamlload import load_yaml_file

DATA = Path(__file__).parent.parent / "data" / "reference"
OVERLAYS = sorted(p.stem for p in (DATA / "overlays").glob("*.yaml"))
DEPLOYMENTS = ["example-deployment", *OVERLAYS]
BIN = Path(sys.executable).parent
START_TIMEOUT = 120.0
STOP_TIMEOUT = 120.0

VALIDATION_ERRORS = (
    "InvalidOptionsError",
    "UnknownBusinessError",
    "ValidationError",
    "QuerySetError",
)
"""Autostart failures that mean the spec itself was refused (what must not happen)."""

GAFAELFAWR_TOKEN = "gt-chart-admin-token.secret-5f3a9d"  # a test token
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END RSA PRIVATE KEY-----\n"
)
"""Not a usable key: the GitHub apps' behaviour is not what these tests are about."""
ALERT_PATH = "/echo"
"""Path of the Slack stand-in on the test target (accepts any POST, answers 200)."""

METRICS_READY = "application" in MetricsConfig.model_fields
"""Whether the ``metrics`` section takes the reference's keys yet (another change adds them)."""

TAP_SETS = ("dp0.2", "dp0.2-med-scans", "dp0.2-long-scans")
SIA_SETS = ("dp02",)


def _shipped(kind: str, name: str) -> bool:
    try:
        getattr(SHIPPED_ONLY, kind)(name)
    except QuerySetError:
        return False
    return True


QUERY_SETS_READY = all(_shipped("tap", s) for s in TAP_SETS) and all(
    _shipped("sia", s) for s in SIA_SETS
)
"""Whether the reference's query sets are shipped yet (another change adds them)."""


def merge(base: Any, overlay: Any) -> Any:
    """Overlay ``overlay`` on ``base`` as Helm does: maps merged key by key, lists replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return overlay


def chart_values() -> dict[str, Any]:
    """The chart's defaults; without the reference's ``metrics`` keys until they are known."""
    values: dict[str, Any] = load_yaml_file(DATA / "chart-values.yaml")
    if not METRICS_READY:
        values["metrics"] = {"enabled": values["metrics"]["enabled"]}
    return values


def deployment(name: str) -> dict[str, Any]:
    """The rendered configuration of deployment ``name``: chart defaults plus its overlay."""
    folder = DATA if name == "example-deployment" else DATA / "overlays"
    overlay = load_yaml_file(folder / f"{name}.yaml")
    if not METRICS_READY and isinstance(overlay.get("metrics"), dict):
        overlay["metrics"] = {"enabled": overlay["metrics"].get("enabled", False)}
    rendered: dict[str, Any] = merge(chart_values(), overlay)
    return rendered


def needs_query_sets(config: dict[str, Any]) -> bool:
    """Whether a flock of ``config`` asks for one of the reference's query sets."""
    wanted = {
        (flock["business"].get("options") or {}).get("query_set")
        for flock in config.get("autostart", [])
    }
    return bool(wanted & {*TAP_SETS, *SIA_SETS})


def chart_environment(target_url: str) -> dict[str, str]:
    """The environment the chart's StatefulSet sets (reference-deployment.md §2), local.

    Slack goes to the test target; the other services are not reachable, as from a test.
    """
    return {
        "MOBU_ALERT_HOOK": f"{target_url}{ALERT_PATH}",
        "MOBU_GAFAELFAWR_TOKEN": GAFAELFAWR_TOKEN,
        "MOBU_GITHUB_CI_APP_ID": "123456",
        "MOBU_GITHUB_CI_APP_PRIVATE_KEY": PRIVATE_KEY,
        "MOBU_GITHUB_CI_APP_WEBHOOK_SECRET": "ci-webhook-secret-8c1e",
        "MOBU_GITHUB_REFRESH_APP_WEBHOOK_SECRET": "refresh-webhook-secret-2b7d",
        "MOBU_REPLICA_COUNT": "1",
        "MOBU_REPLICA_INDEX": "0",
        "MOBU_SENTRY_ENVIRONMENT": "pytest",
        "SENTRY_RELEASE": "1.0.0",
        "REPERTOIRE_BASE_URL": f"{target_url}/repertoire",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "KAFKA_SECURITY_PROTOCOL": "SSL",
        "KAFKA_CLIENT_CERT_PATH": "/etc/mobu-kafka/user.crt",
        "KAFKA_CLIENT_KEY_PATH": "/etc/mobu-kafka/user.key",
        "KAFKA_CLUSTER_CA_PATH": "/etc/mobu-kafka/ca.crt",
    }


def refused_flocks(summary: dict[str, Any], names: list[str]) -> list[str]:
    """Problems of an autostart: flocks neither running nor failed for a non-validation reason."""
    running = {f["name"] for f in summary["flocks"]}
    failed = {f["name"]: f["error"] for f in summary["autostart_failures"]}
    problems = []
    for name in names:
        error = failed.get(name)
        if name not in running and error is None:
            problems.append(f"{name}: neither running nor an autostart failure")
        elif error is not None and error.startswith(VALIDATION_ERRORS):
            problems.append(f"{name}: refused as invalid: {error}")
    return problems


@dataclass
class Process:
    """A server subprocess and everything it printed."""

    process: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def log(self) -> str:
        """Everything printed so far."""
        return "".join(self.output)

    async def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        """Wait until a line matches ``pattern``; return the match."""
        regex = re.compile(pattern)
        found: list[re.Match[str]] = []

        def seen() -> bool:
            found[:] = [m for line in self.output if (m := regex.search(line))][:1]
            return bool(found) or self.process.returncode is not None

        async with asyncio.timeout(timeout), self.changed:
            await self.changed.wait_for(seen)
        if not found:
            raise AssertionError(f"exited before printing {pattern!r}:\n{self.log}")
        return found[0]

    async def terminate(self) -> int:
        """SIGTERM, then the exit status."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)


async def _collect(server: Process) -> None:
    assert server.process.stdout is not None
    async for raw in server.process.stdout:
        async with server.changed:
            server.output.append(raw.decode(errors="replace"))
            server.changed.notify_all()
    async with server.changed:
        server.changed.notify_all()


@asynccontextmanager
async def run_process(args: list[str], env: dict[str, str], cwd: Path) -> AsyncIterator[Process]:
    """Run ``args`` (a console script of the venv) in its own session; stop it on the way out."""
    process = await asyncio.create_subprocess_exec(
        str(BIN / args[0]),
        *args[1:],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        cwd=cwd,
        env={**os.environ, **env},
    )
    server = Process(process)
    reader = asyncio.create_task(_collect(server))
    try:
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

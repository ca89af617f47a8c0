"""Run the demo: start the components, serve mobu on loopback, show live flock results."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

from mobu.config import Config
from mobu.demo.base import DemoComponent, DemoContribution
from mobu.exceptions import MobuError
from mobu.factory import ProcessContext
from mobu.main import create_app

__all__ = ["DemoError", "run_demo"]

Echo = Callable[[str], None]


class DemoError(MobuError):
    """The demo cannot run (no component could start)."""


def _merge(contributions: list[DemoContribution]) -> dict[str, Any]:
    services: dict[str, str] = {}
    applications: list[str] = []
    datasets: dict[str, dict[str, str]] = {}
    identity: dict[str, Any] | None = None
    flocks: list[dict[str, Any]] = []
    for part in contributions:
        services.update(part.services)
        applications.extend(a for a in part.applications if a not in applications)
        datasets.update(part.datasets)
        identity = part.identity or identity
        flocks.extend(part.flocks)
    return {
        "auth": {"mode": "none"},
        "log_monkeys_to_file": True,
        "logging": {"level": "WARNING"},
        "stop_grace": 20,
        "discovery": {"services": services, "applications": applications, "datasets": datasets},
        "identity": identity,
        "autostart": flocks,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _table(context: ProcessContext, started: float) -> str:
    lines = [f"--- {time.monotonic() - started:6.0f}s ---"]
    lines.append(f"{'flock':<12} {'business':<24} {'monkeys':>7} {'ok':>6} {'failed':>6}")
    lines.extend(
        f"{s.name:<12} {s.business:<24} {s.monkey_count:>7} {s.success_count:>6}"
        f" {s.failure_count:>6}"
        for s in context.manager.summarize_flocks()
    )
    lines.extend(
        f"{f.name:<12} failed to start: {f.error}" for f in context.manager.autostart_failures
    )
    return "\n".join(lines)


async def _start(component: DemoComponent, echo: Echo) -> DemoContribution | None:
    echo(f"Starting {component.name}...")
    try:
        return await component.start()
    except Exception as exc:  # noqa: BLE001 - a component that cannot run is skipped
        echo(f"  {component.name} unavailable, skipped: {type(exc).__name__}: {exc}")
        await component.stop()
        return None


async def run_demo(
    components: list[DemoComponent],
    *,
    duration: float | None,
    interval: float = 5.0,
    echo: Echo = print,
) -> dict[str, Any]:
    """Run the demo until ``duration`` seconds passed (None: until SIGINT/SIGTERM).

    Returns the final flock summaries (as dicts). Every component is stopped on the way out,
    whatever happened.

    Raises
    ------
    DemoError
        No component started, so there is nothing to run.
    """
    started_components: list[DemoComponent] = []
    try:
        contributions = []
        for component in components:
            started_components.append(component)
            part = await _start(component, echo)
            if part is not None:
                contributions.append(part)
        if not any(part.flocks for part in contributions):
            raise DemoError("no demo component could start; see the messages above")
        config = Config(**_merge(contributions))
        return await _serve(config, contributions, duration, interval, echo)
    finally:
        for component in reversed(started_components):
            echo(f"Stopping {component.name}...")
            await component.stop()


async def _serve(
    config: Config,
    contributions: list[DemoContribution],
    duration: float | None,
    interval: float,
    echo: Echo,
) -> dict[str, Any]:
    import uvicorn  # only the demo and serve need it

    from mobu.cli.serve import MobuServer  # mobu.cli imports this module

    app = create_app(config)
    port = _free_port()
    uv_config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="on", log_config=None, access_log=False,
        timeout_graceful_shutdown=20,
    )
    ready = asyncio.Event()
    server = MobuServer(
        uv_config, app=app, path=config.path_prefix.rstrip("/"), on_ready=lambda _: ready.set()
    )
    serving = asyncio.create_task(server.serve())
    started = time.monotonic()
    final: dict[str, Any] = {}
    waiting = asyncio.create_task(ready.wait())
    try:
        await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if serving.done():
            serving.result()
            raise DemoError("the mobu server exited during startup")
        prefix = config.path_prefix.rstrip("/")
        echo(f"mobu API:    http://127.0.0.1:{port}{prefix}/flocks   (docs: {prefix}/docs)")
        for part in contributions:
            for note in part.notes:
                echo(note)
        echo("Press Ctrl-C to stop." if duration is None else f"Running for {duration:g}s.")
        context: ProcessContext = app.state.context
        deadline = None if duration is None else started + duration
        while not serving.done():
            wait = interval if deadline is None else min(interval, deadline - time.monotonic())
            if wait <= 0:
                break
            await asyncio.wait({serving}, timeout=wait)
            if not serving.done():
                echo(_table(context, started))
        final = {s.name: s.model_dump(mode="json") for s in context.manager.summarize_flocks()}
        echo("Stopping mobu (every monkey deletes its lab)...")
    finally:
        server.should_exit = True
        await serving
    return final

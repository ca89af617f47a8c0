"""Run the demo: start the components, serve mobu on loopback, show live flock results."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from rich.console import Console

from mobu.config import Config
from mobu.demo.base import DemoComponent, DemoContribution
from mobu.demo.processes import ProcessRegistry
from mobu.demo.stop import StopRequest
from mobu.exceptions import MobuError
from mobu.factory import ProcessContext
from mobu.history import HistoryReader
from mobu.history.terminal import LiveRow, LiveView, live_rows, plain_table
from mobu.main import app_context, create_app
from mobu.server import MobuServer

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
    extra: dict[str, Any] = {}
    for part in contributions:
        extra.update(part.config)
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
        **extra,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _rows(context: ProcessContext) -> list[LiveRow]:
    """The live view's rows: flock summaries, with last errors from the history if kept."""
    summaries = context.manager.summarize_flocks()
    overview = None
    if context.history is not None and context.history.opened:
        with contextlib.suppress(MobuError):
            overview = await HistoryReader(context.history).overview(summaries)
    return live_rows(summaries, overview)


def _title(context: ProcessContext, started: float) -> str:
    failures = "".join(
        f"; {f.name} failed to start: {f.error}" for f in context.manager.autostart_failures
    )
    return f"mobu demo, {time.monotonic() - started:.0f}s{failures}"


async def _start(component: DemoComponent, log: Echo, stop: StopRequest) -> DemoContribution | None:
    """Start ``component``; on a stop request, cancel its start (which stops its processes)."""
    log(f"Starting {component.name}...")
    task = asyncio.create_task(component.start())
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            if stop.requested:
                log(f"  stop requested ({stop.reason}) while {component.name} was starting")
            task.cancel()
            await asyncio.wait({task})
    if task.cancelled():
        return None
    try:
        return task.result()
    except Exception as exc:  # noqa: BLE001 - a component that cannot run is skipped
        log(f"  {component.name} unavailable, skipped: {type(exc).__name__}: {exc}")
        await component.stop()
        return None


async def _stop_components(components: list[DemoComponent], log: Echo) -> None:
    for component in reversed(components):
        log(f"Stopping {component.name}...")
        try:
            await component.stop()
        except Exception as exc:  # noqa: BLE001 - the other components must still stop
            log(f"  stopping {component.name} failed: {type(exc).__name__}: {exc}")


async def run_demo(
    components: list[DemoComponent],
    *,
    duration: float | None,
    interval: float = 5.0,
    echo: Echo = print,
    log: Echo | None = None,
    stop: StopRequest | None = None,
    processes: ProcessRegistry | None = None,
    wake_on_signal: bool = False,
    live: Console | None = None,
) -> dict[str, Any]:
    """Run the demo until ``duration`` seconds passed or a stop is requested.

    Returns the final flock summaries (as dicts; empty if stopped before mobu ran). Every
    component is stopped on the way out, whatever happened, including one whose start is
    still running; then every process left in ``processes`` is stopped.
    Long because this docstring documents its nine parameters; the body is ~25 lines.

    Parameters
    ----------
    components
        The components, started in this order and stopped in reverse.
    duration
        Seconds to run once mobu serves; None runs until a stop request.
    interval
        Seconds between two result tables.
    echo
        Where the URLs and the result tables go (the command's stdout).
    log
        Where progress and cleanup messages go (the command's stderr; default ``echo``).
    stop
        The stop request to obey (signals, closed output); a private one by default.
    processes
        The registry the components register their processes in, swept at the end.
    wake_on_signal
        Make a signal wake the event loop at once (main thread only; the command's case).
    live
        A terminal to redraw the flocks' table on in place (rich); without it each refresh
        prints a plain table through ``echo``.

    Raises
    ------
    DemoError
        No component started, so there is nothing to run.
    """
    say = log or echo
    request = stop or StopRequest()
    started: list[DemoComponent] = []
    async with request.attached(wake_on_signal=wake_on_signal):
        try:
            contributions = []
            for component in components:
                if request.requested:
                    break
                started.append(component)
                part = await _start(component, say, request)
                if part is not None:
                    contributions.append(part)
            if request.requested:
                return {}
            if not any(part.flocks for part in contributions):
                raise DemoError("no demo component could start; see the messages above")
            config = Config(**_merge(contributions))
            show = _Show(interval, echo, None if live is None else LiveView(live))
            return await _serve(config, contributions, duration, show, say, request)
        finally:
            await _stop_components(started, say)
            if processes is not None:
                await asyncio.to_thread(processes.stop)


class _DemoServer(MobuServer):
    """The API server of the demo: the demo's own handlers keep the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        """Leave the signals to the demo (its stop request stops this server)."""
        yield


async def _show_tables(
    app: FastAPI,
    serving: asyncio.Task[None],
    stopping: asyncio.Task[Any],
    stop: StopRequest,
    deadline: float | None,
    show: _Show,
    started: float,
) -> None:
    """Show the flocks every ``interval`` until the deadline, a stop or the server's end."""
    while not serving.done() and not stop.requested:
        wait = (
            show.interval if deadline is None else min(show.interval, deadline - time.monotonic())
        )
        if wait <= 0:
            return
        await asyncio.wait({serving, stopping}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        if not serving.done() and not stop.requested:
            current = app_context(app)
            if current is not None:
                rows, title = await _rows(current), _title(current, started)
                if show.view is not None:
                    show.view.update(rows, title=title)
                else:
                    show.echo(plain_table(rows, title=title))


@dataclass(slots=True)
class _Show:
    """How the demo shows its flocks: a live view on a terminal, else plain tables."""

    interval: float
    echo: Echo
    view: LiveView | None = None


async def _serve(
    config: Config,
    contributions: list[DemoContribution],
    duration: float | None,
    show: _Show,
    log: Echo,
    stop: StopRequest,
) -> dict[str, Any]:
    import uvicorn  # only the demo and serve need it

    app = create_app(config)
    port = _free_port()
    uv_config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
    ready = asyncio.Event()
    server = _DemoServer(
        uv_config, app=app, path=config.path_prefix.rstrip("/"), on_ready=lambda _: ready.set()
    )
    serving = asyncio.create_task(server.serve())
    started = time.monotonic()
    final: dict[str, Any] = {}
    waiting = asyncio.create_task(ready.wait())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done():
            serving.result()
            raise DemoError("the mobu server exited during startup")
        if not stop.requested:
            _announce(config, port, contributions, duration, show.echo)
        deadline = None if duration is None else started + duration
        with show.view or contextlib.nullcontext():
            await _show_tables(app, serving, stopping, stop, deadline, show, started)
        if stop.requested:
            log(f"Stop requested ({stop.reason}).")
        context = app_context(app)
        if context is not None:
            final = {s.name: s.model_dump(mode="json") for s in context.manager.summarize_flocks()}
        log("Stopping mobu (every monkey deletes its lab)...")
    finally:
        waiting.cancel()
        stopping.cancel()
        server.should_exit = True
        context = app_context(app)
        if context is not None:
            context.begin_shutdown()
        await serving
    return final


def _announce(
    config: Config,
    port: int,
    contributions: list[DemoContribution],
    duration: float | None,
    echo: Echo,
) -> None:
    prefix = config.path_prefix.rstrip("/")
    echo(f"mobu dashboard: http://127.0.0.1:{port}{prefix}/ui")
    echo(f"mobu API:    http://127.0.0.1:{port}{prefix}/flocks   (docs: {prefix}/docs)")
    echo(f"Load test:  mobu loadtest PLAN.yaml --url http://127.0.0.1:{port}{prefix}")
    for part in contributions:
        for note in part.notes:
            echo(note)
    echo("Press Ctrl-C to stop." if duration is None else f"Running for {duration:g}s.")

"""The API server: a uvicorn server whose SIGTERM/SIGINT stop every flock and exit 0."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Generator
from types import FrameType

import uvicorn
from fastapi import FastAPI

from mobu import eventloop
from mobu.config import Config, ConfigError
from mobu.exceptions import MobuError
from mobu.factory import ProcessContext
from mobu.logsetup import configure_logging, get_logger
from mobu.main import app_context, create_app
from mobu.registry import BusinessRegistry

__all__ = ["MobuServer", "bind_socket", "run_server"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class MobuServer(uvicorn.Server):
    """uvicorn server that exits cleanly on a signal and stops flocks as soon as it gets one.

    ``uvicorn.Server.serve`` re-raises a captured SIGTERM after its graceful shutdown, so the
    process would die with -15; this server only records the request to exit. On shutdown the
    flocks start stopping at once, while uvicorn drains the open connections (a batched flock
    start in progress is ended by the stop, so its request finishes too).

    Parameters
    ----------
    config
        uvicorn configuration.
    app
        The application (its state holds the process context once started).
    on_ready
        Called with the bound URL (host and actual port, plus ``path``) once the server listens.
    path
        Path appended to the announced URL (the API prefix).
    """

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        app: FastAPI,
        on_ready: Callable[[str], None] | None = None,
        path: str = "",
    ) -> None:
        super().__init__(config)
        self.app = app
        self._on_ready = on_ready
        self._path = path
        self.url: str | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        """Turn SIGINT/SIGTERM into a graceful shutdown, without re-raising them afterwards."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        loop = asyncio.get_running_loop()

        def handler(_sig: int, _frame: FrameType | None) -> None:
            self.should_exit = True
            # Also when the signal arrives during startup (a long autostart).
            loop.call_soon_threadsafe(self._begin_shutdown)

        original = {sig: signal.signal(sig, handler) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, previous in original.items():
                signal.signal(sig, previous)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start, then announce the URL with the port actually bound (``--port 0``)."""
        await super().startup(sockets=sockets)
        if not self.started:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}{self._path}"
        context = app_context(self.app)
        if context is not None and context.replicas is not None:
            context.replicas.group.announce(self.url)
        if self._on_ready is not None:
            self._on_ready(self.url)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Start stopping the flocks, then let uvicorn close connections and run the lifespan."""
        self._begin_shutdown()
        await super().shutdown(sockets=sockets)

    def _begin_shutdown(self) -> None:
        """Have the process context start stopping every flock (once it exists)."""
        context = app_context(self.app)
        if context is not None:
            context.begin_shutdown()


def run_server(
    config: Config,
    host: str,
    port: int,
    *,
    on_ready: Callable[[str], None] | None = None,
    registry: BusinessRegistry | None = None,
) -> None:
    """Serve the API for ``config`` until SIGTERM/SIGINT; returns after every flock stopped.

    ``registry`` is the one ``config`` was loaded with (default: the installed businesses).

    Raises
    ------
    ConfigError
        The address cannot be bound, or the process context cannot be built from ``config``
        (e.g. an identity provider without the URL it needs).
    """
    sock = bind_socket(host, port)
    configure_logging(config.logging)
    try:
        context = ProcessContext(config, logger=get_logger("mobu"), registry=registry)
    except MobuError as exc:
        sock.close()
        raise ConfigError(f"invalid configuration: {exc}") from exc
    app = create_app(config, context=context)
    grace = config.stop_grace.total_seconds()
    uv_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        lifespan="on",
        timeout_graceful_shutdown=max(1, round(grace)),
        log_config=None,
        access_log=False,
    )
    server = MobuServer(uv_config, app=app, on_ready=on_ready, path=config.path_prefix.rstrip("/"))
    with sock:
        eventloop.run(server.serve(sockets=[sock]))


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket before anything starts, so a bad address fails at once.

    Raises
    ------
    ConfigError
        ``host`` does not resolve to a local address, or ``port`` is taken or not allowed.
    """
    sock = socket.socket(family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock

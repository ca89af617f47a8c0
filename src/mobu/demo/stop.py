"""How a running ``mobu demo`` is asked to stop: a signal, or its output going away."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator, Callable
from types import FrameType
from typing import Any

__all__ = ["STOP_SIGNALS", "StopRequest"]

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that stop the demo (cleanly: every process it started is stopped)."""


class StopRequest:
    """The first request to stop the demo, and the event the running demo waits on.

    :meth:`install` makes the stop signals record a request instead of killing the process, so
    that the command can stop what it started whenever the signal arrives; call it first. The
    runner enters :meth:`attached` inside its event loop, which wakes the loop when a signal
    arrives (whichever thread the kernel delivered it to).
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self.repeats = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._previous: dict[signal.Signals, _Handler] = {}

    @property
    def requested(self) -> bool:
        """Whether a stop was requested."""
        return self.reason is not None

    def install(self) -> None:
        """Handle the stop signals from now on (main thread only); writes to a closed pipe fail.

        SIGPIPE stays ignored (Python's default), so that a write to a closed stdout raises
        and the command turns it into a stop request.
        """
        for signum in (*STOP_SIGNALS, signal.SIGPIPE):
            self._previous.setdefault(signum, signal.getsignal(signum))
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def uninstall(self) -> None:
        """Give the signals back the handlers they had before :meth:`install`."""
        for signum, previous in self._previous.items():
            if previous is not None:  # None: set outside Python, cannot be restored
                signal.signal(signum, previous)
        self._previous.clear()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.request(signal.Signals(signum).name)

    def request(self, reason: str) -> None:
        """Ask the demo to stop (only the first reason is kept)."""
        if self.reason is not None:
            self.repeats += 1
            return
        self.reason = reason
        loop, event = self._loop, self._event
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(event.set)

    async def wait(self) -> None:
        """Return once a stop is requested (inside :meth:`attached`)."""
        if self._event is None:
            raise RuntimeError("StopRequest.wait() outside attached()")
        await self._event.wait()

    @contextlib.asynccontextmanager
    async def attached(self, *, wake_on_signal: bool) -> AsyncIterator[None]:
        """Let the running event loop wait for the request.

        Parameters
        ----------
        wake_on_signal
            Point Python's signal wakeup file descriptor at the loop, so that a signal the
            kernel delivers to another thread (a component's start thread) still wakes it at
            once. Only possible in the main thread; the handlers stay those of :meth:`install`.
        """
        loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._loop = loop
        if self.reason is not None:
            self._event.set()
        reader: socket.socket | None = None
        writer: socket.socket | None = None
        previous = -1
        if wake_on_signal:
            reader, writer = socket.socketpair()
            reader.setblocking(False)
            writer.setblocking(False)
            previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
            loop.add_reader(reader.fileno(), _drain, reader)
        try:
            yield
        finally:
            self._loop = None
            self._event = None
            if reader is not None and writer is not None:
                signal.set_wakeup_fd(previous)
                loop.remove_reader(reader.fileno())
                reader.close()
                writer.close()


def _drain(reader: socket.socket) -> None:
    # The bytes only wake the loop; the Python-level handler then runs in the main thread.
    with contextlib.suppress(OSError):
        while reader.recv(512):
            pass

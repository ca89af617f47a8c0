"""Plumbing for pyvo, which is blocking: HTTP sessions and a bounded pool of worker threads.

pyvo does its HTTP through :mod:`requests`. Each IVOA business gets its own
:class:`BlockingCalls` (at most two daemon threads) and a session whose every request has a socket
timeout, so a thread left behind by a stop or a timeout on a hung server ends by itself and the
number of such threads never grows.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

import requests
from astropy import log as astropy_log
from requests.adapters import HTTPAdapter

__all__ = ["BlockingCalls", "make_session"]

T = TypeVar("T")

# VOSI and VOTable documents of real servers routinely carry elements pyvo/astropy do not know
# (DaCHS's capabilities do): these warnings say nothing about the query, and flooded the logs.
warnings.filterwarnings("ignore", message=r".*Unknown (element|xsi:type)")
astropy_log.setLevel(logging.ERROR)


class _TimeoutAdapter(HTTPAdapter):
    """Gives every request without an explicit timeout a default one."""

    def __init__(self, timeout: float) -> None:
        super().__init__(pool_connections=2, pool_maxsize=4)
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, *args, **kwargs)


def make_session(token: str | None, timeout: float) -> requests.Session:
    """Return a requests session for pyvo.

    Parameters
    ----------
    token
        Bearer token sent with every request; None sends no ``Authorization`` header.
    timeout
        Socket timeout in seconds (connect, and each read) of requests that set none.
    """
    session = requests.Session()
    adapter = _TimeoutAdapter(timeout)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "mobu"
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


class BlockingCalls:
    """Runs blocking calls in at most ``workers`` threads without blocking the event loop.

    Awaiting :meth:`run` can be cancelled at any time (by a stop or a timeout); the thread then
    finishes its call in the background, bounded by the session's socket timeout, and only then
    frees its slot. A call waiting for a slot is simply cancelled, so a hung server never makes
    the number of threads grow. The threads are daemons: one still blocked on a hung server
    does not hold up the exit of the process.
    """

    def __init__(self, name: str, workers: int = 2) -> None:
        self._name = name
        self._slots = asyncio.Semaphore(workers)

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(*args)`` in a worker thread and return its result."""
        await self._slots.acquire()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def target() -> None:
            try:
                result = func(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                _deliver(loop, future, None, exc)
            else:
                _deliver(loop, future, result, None)
            finally:
                _call(loop, self._slots.release)

        try:
            threading.Thread(target=target, name=self._name, daemon=True).start()
        except BaseException:
            self._slots.release()
            raise
        return await future


def _call(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    """Schedule ``callback`` on ``loop`` from a thread; nothing if the loop is gone."""
    with suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


def _deliver(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[T],
    result: T | None,
    exc: BaseException | None,
) -> None:
    def settle() -> None:
        if future.done():
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    _call(loop, settle)

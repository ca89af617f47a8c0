"""Plumbing for pyvo, which is blocking: HTTP sessions and a bounded pool of worker threads.

pyvo does its HTTP through :mod:`requests`. Each IVOA business gets its own
:class:`BlockingCalls` (at most two threads) and a session whose every request has a socket
timeout, so a thread left behind by a stop or a timeout on a hung server ends by itself and the
number of such threads never grows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter

__all__ = ["BlockingCalls", "make_session"]

T = TypeVar("T")


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
    finishes its call in the background, bounded by the session's socket timeout. Calls queued
    behind busy threads are dropped when their awaiting task is cancelled, so a hung server
    never makes the pool grow.
    """

    def __init__(self, name: str, workers: int = 2) -> None:
        self._name = name
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(*args)`` in a worker thread and return its result."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self._workers, thread_name_prefix=self._name
            )
        return await asyncio.wrap_future(self._executor.submit(func, *args))

    def close(self) -> None:
        """Drop queued calls; running ones end on their own (socket timeouts).

        The pool is created again by the next :meth:`run` (a restarted business).
        """
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

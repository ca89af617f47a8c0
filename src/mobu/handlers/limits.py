"""Request body size limit: a pure ASGI middleware answering 413 ``request_too_large``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mobu.handlers.errors import error_body

__all__ = ["DRAIN_BYTES", "DRAIN_SECONDS", "BodyLimitMiddleware"]

DRAIN_BYTES = 256 * 1024
"""Rest of a refused body read and discarded, so that the client can read the 413.

A client that sends its whole body before it reads the answer (most do) sees a connection
reset instead of the 413 if the server closes while the body is still coming.
"""

DRAIN_SECONDS = 10.0
"""Longest wait for the rest of a refused body (a client may stop sending and wait)."""

_MAX_DIGITS = 18
"""A longer Content-Length is over any limit (and is not worth converting)."""


class _BodyTooLargeError(Exception):
    """Raised into the application when a streamed body goes over the limit.

    Not a MobuError: the API's MobuError handler would answer it inside the application,
    while it must reach this middleware, which sends the 413.
    """


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with 413 ``request_too_large``.

    A ``Content-Length`` above the limit is refused before the application sees the request.
    A body without one (chunked) is counted as the application reads it: once over the limit,
    the read raises, whatever the application answers is dropped and the 413 is sent instead
    (unless the application already started its response, which is then cut short). Before
    answering, at most :data:`DRAIN_BYTES` more of the body are read and discarded, so that
    a client still sending can read the answer; the connection is then closed, and the rest
    of a larger body is never read.

    Parameters
    ----------
    app
        The application.
    max_bytes
        Largest body accepted, in bytes.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            if declared <= self.max_bytes + DRAIN_BYTES:
                await _drain(receive, DRAIN_BYTES)
            await self._refuse(send)
            return
        received = 0
        exceeded = False
        started = False
        complete = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded, complete
            if exceeded:
                raise _BodyTooLargeError
            message = await receive()
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(_BodyTooLargeError):
            await self.app(scope, counting_receive, guarded_send)
        if exceeded and not started:
            if not complete:
                await _drain(receive, DRAIN_BYTES)
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        msg = f"Request body larger than {self.max_bytes} bytes"
        body = json.dumps(error_body([], msg, "request_too_large")).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive, budget: int) -> None:
    """Read and discard the rest of the body: at most ``budget`` bytes, :data:`DRAIN_SECONDS`."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            while budget > 0:
                message = await receive()
                if message["type"] != "http.request":
                    return
                budget -= len(message.get("body", b""))
                if not message.get("more_body", False):
                    return


def _content_length(scope: Scope) -> int | None:
    """The declared body length, or None when absent or unparsable (the server rejects those)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not (text.isascii() and text.isdigit()):
                return None
            return int(text) if len(text) <= _MAX_DIGITS else sys.maxsize
    return None

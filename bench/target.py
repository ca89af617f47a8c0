"""Loopback HTTP/1.1 target for the benchmarks: answers every request at once, counts them.

Run as ``python bench/target.py [core]``. It binds 127.0.0.1 on a port chosen by the OS, prints
``PORT <n>`` on stdout, pins itself to ``core`` when given, and serves until SIGTERM/SIGINT.
``GET /__count`` answers ``<requests served> <open connections>`` and is not counted itself.
Keep-alive and pipelining are supported; request bodies are not (the benchmarks only GET).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import Any

_BODY = b"Hello, mobu!!"
_REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
    + str(len(_BODY)).encode()
    + b"\r\nConnection: keep-alive\r\n\r\n"
    + _BODY
)
_END = b"\r\n\r\n"


class _State:
    served = 0
    connections = 0


class _Responder(asyncio.Protocol):
    """One connection: split the byte stream at blank lines, answer each request."""

    def __init__(self) -> None:
        self._pending = b""
        self._transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        _State.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        _State.connections -= 1

    def data_received(self, data: bytes) -> None:
        buffer = self._pending + data if self._pending else data
        last = buffer.rfind(_END)
        if last < 0:
            self._pending = buffer
            return
        self._pending = buffer[last + 4 :]
        complete = buffer[: last + 4]
        if b"/__count" not in complete:
            count = complete.count(_END)
            _State.served += count
            self._transport.write(_REPLY * count)
            return
        replies = []
        for request in complete.split(_END)[:-1]:
            if request.startswith(b"GET /__count"):
                text = f"{_State.served} {_State.connections}".encode()
                replies.append(
                    b"HTTP/1.1 200 OK\r\nContent-Length: "
                    + str(len(text)).encode()
                    + b"\r\n\r\n"
                    + text
                )
            else:
                _State.served += 1
                replies.append(_REPLY)
        self._transport.write(b"".join(replies))


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    server = await loop.create_server(_Responder, "127.0.0.1", 0, backlog=8192)
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    await done.wait()
    server.close()


def main() -> None:
    """Entry point."""
    if len(sys.argv) > 1:
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setaffinity(0, {int(sys.argv[1])})
    try:
        import uvloop  # optional, faster when present

        uvloop.run(_serve())
    except ImportError:
        asyncio.run(_serve())


if __name__ == "__main__":
    main()
